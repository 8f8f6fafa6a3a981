#!/usr/bin/env bash
# Checks the live mesh with `mesh-render plan verify`: istiod ready, GatewayClass istio Accepted,
# the Knative Gateways Programmed, PeerAuthentication default in force, a Knative Service reachable
# through the Istio gateway, and a plaintext request from a pod without a sidecar refused.
set -euo pipefail
# shellcheck source=scripts/lib/mesh-render.sh
source "$(dirname "$0")/../lib/mesh-render.sh"

"$MESH_RENDER" "${mesh_render_args[@]}" plan verify | sh
