#!/usr/bin/env bash
# Re-renders deployment/rendered/ (expanded charts included) for inspection: the same render as
# `make render`, under the name the component this replaces used.
#
#   ./scripts/regenerate-rendered.sh           # replace the tree (written atomically)
#   ./scripts/regenerate-rendered.sh --clean   # delete the tree first, then render from nothing
#
# CONFIG, OUT and MESH_RENDER (a mesh-render binary instead of `cargo run`) are passed to make.
set -euo pipefail
repo_root="$(cd "$(dirname "$0")/.." && pwd)"

clean=false
for arg in "$@"; do
  case "$arg" in
    --clean) clean=true ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "regenerate-rendered: unknown argument '$arg' (usage: $0 [--clean])" >&2
      exit 2
      ;;
  esac
done

make_args=(-C "$repo_root" --no-print-directory render)
[[ -n "${CONFIG:-}" ]] && make_args+=("CONFIG=$CONFIG")
[[ -n "${OUT:-}" ]] && make_args+=("OUT=$OUT")
[[ -n "${MESH_RENDER:-}" ]] && make_args+=("MESH_RENDER=$MESH_RENDER")

if $clean; then
  out="${OUT:-deployment/rendered}"
  case "$out" in /*) ;; *) out="$repo_root/$out" ;; esac
  echo "regenerate-rendered: removing $out" >&2
  rm -rf -- "$out"
fi
exec make "${make_args[@]}"
