#!/usr/bin/env bash
# Tears the mesh down: renders the config, then runs `mesh-render plan destroy` (Knative back to
# its previous controller, mesh resources, charts, CRDs, namespace, injection labels, sidecars).
set -euo pipefail
# shellcheck source=scripts/lib/mesh-render.sh
source "$(dirname "$0")/lib/mesh-render.sh"

render_tree
"$MESH_RENDER" "${mesh_render_args[@]}" plan destroy --rendered "$rendered" | sh
