#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ with the repository's real configs: config.yaml and golden/*/config.yaml.
# The corpora grow while fuzzing and are not committed (fuzz/.gitignore).
set -euo pipefail
cd "$(dirname "$0")/.."
for target in "$@"; do
  mkdir -p "fuzz/corpus/$target"
  for f in config.yaml golden/*/config.yaml; do
    name=$(echo "$f" | tr '/' '_')
    cp "$f" "fuzz/corpus/$target/seed_$name"
  done
done
