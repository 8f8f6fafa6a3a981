# shellcheck shell=bash
# Shared by scripts/build.sh, scripts/destroy.sh and scripts/test/test-mesh.sh (bash, sourced).
#
# MESH_RENDER  the mesh-render command (default: `mesh-render` on PATH)
# CONFIG       the config file (default: config.yaml at the repository root)
# MESH_ENV     an environment of components.istio.environments (default: the base settings)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root" || exit 1

MESH_RENDER="${MESH_RENDER:-mesh-render}"
CONFIG="${CONFIG:-config.yaml}"
if ! command -v "$MESH_RENDER" >/dev/null 2>&1; then
  echo "$MESH_RENDER is not on PATH: cargo install --path crates/mesh-render-cli, or set MESH_RENDER" >&2
  exit 1
fi

mesh_render_args=(--config "$CONFIG")
if [[ -n "${MESH_ENV:-}" ]]; then
  mesh_render_args+=(--env "$MESH_ENV")
fi

# Renders the tree into a fresh folder (removed on exit) and sets `rendered` to its path, so that
# the plan always matches the config and the committed deployment/rendered/ is left as it is.
render_tree() {
  local tmp
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/mesh-render.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the folder of this run
  trap "rm -rf '$tmp'" EXIT
  rendered="$tmp/rendered"
  "$MESH_RENDER" "${mesh_render_args[@]}" render --out "$rendered"
}
