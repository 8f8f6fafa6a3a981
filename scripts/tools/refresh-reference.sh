#!/usr/bin/env bash
# Refreshes the vendored upstream data (reference/) from a copy of the same data: every upstream
# file is replaced, the per-folder README.md files (mesh-render's provenance notes) are kept.
# Usage: scripts/tools/refresh-reference.sh SRC DEST   (or `make reference REFERENCE_SRC=...`)
set -euo pipefail
src=${1:?usage: refresh-reference.sh SRC DEST}
dest=${2:?usage: refresh-reference.sh SRC DEST}
[ -d "$src" ] || { echo "refresh-reference: $src is not a folder" >&2; exit 2; }
mkdir -p "$dest"
for dir in "$src"/*/; do
  name=$(basename "$dir")
  keep=""
  if [ -f "$dest/$name/README.md" ]; then
    keep=$(mktemp)
    cp "$dest/$name/README.md" "$keep"
  fi
  rm -rf "${dest:?}/$name"
  cp -R "$dir" "$dest/$name"
  chmod -R u+w "$dest/$name"
  if [ -n "$keep" ]; then
    mv "$keep" "$dest/$name/README.md"
  fi
done
for file in "$src"/*; do
  [ -f "$file" ] || continue
  case "$(basename "$file")" in README.md) continue ;; esac
  cp "$file" "$dest/"
done
echo "refresh-reference: $dest refreshed from $src; review with git status and update the folder READMEs" >&2
