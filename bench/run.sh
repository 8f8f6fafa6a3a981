#!/usr/bin/env bash
# Whole-process timing: cold `mesh-render render` (a fresh process per run, release build) against the
# peer `helm template` of bench/peer-chart (the same objects, templated from values) and `kubectl
# kustomize` of the same objects as static manifests, at the playground size and with 10 to 10,000
# app namespaces. Prints wall-time ratios (hyperfine), CPU-time ratios (the child's own user + system
# time from `wait4`, bench/cpu.py), peak memory (/usr/bin/time) and a scaling table.
#
# Installs nothing: `make bench` builds the release binary, fetches Helm (`make tools`) and installs
# hyperfine first. Usage: bench/run.sh [SIZE...]   (sizes: playground and app-namespace counts)
# Environment: MESH_RENDER, HELM, KUBECTL (the binaries), BENCH_RUNS (timed runs per command, 10),
# BENCH_CPU_RUNS (runs measured for CPU time, 10), BENCH_MEM_RUNS (runs measured for memory, 3), KUSTOMIZE_MAX_APPS (1000: kustomize's time grows
# quadratically; at 10,000 app namespaces one run did not finish in 18 minutes, so larger sizes skip it).
set -euo pipefail
cd "$(dirname "$0")/.."

MESH_RENDER=${MESH_RENDER:-target/release/mesh-render}
HELM=${HELM:-.cache/tools/helm4/helm}
KUBECTL=${KUBECTL:-kubectl}
RUNS=${BENCH_RUNS:-10}
CPU_RUNS=${BENCH_CPU_RUNS:-10}
MEM_RUNS=${BENCH_MEM_RUNS:-3}
KUSTOMIZE_MAX_APPS=${KUSTOMIZE_MAX_APPS:-1000}
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(playground 10 100 1000 10000); fi

missing=0
for tool in "$MESH_RENDER" "$HELM" "$KUBECTL" hyperfine python3 /usr/bin/time; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench/run.sh: $tool not found (run \`make bench\`, which builds and installs what is missing)" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The inputs of one size: the mesh-render config, the peer chart's values, and the static tree.
generate() {
  local size=$1 dir=$work/$1 apps
  mkdir -p "$dir"
  if [ "$size" = playground ]; then
    cp config.yaml "$dir/config.yaml"
    cp bench/peer-chart/values.yaml "$dir/values.yaml"
  else
    apps=$(seq -f 'app-%05g' 0 $((size - 1)) | paste -sd, - | sed 's/,/, /g')
    grep -q 'apps: \[demo, event-demo\]' config.yaml || { echo "config.yaml no longer lists apps: [demo, event-demo]" >&2; exit 2; }
    sed "s/apps: \[demo, event-demo\]/apps: [$apps]/" config.yaml >"$dir/config.yaml"
    sed "s/^apps: \[demo, event-demo\]/apps: [$apps]/" bench/peer-chart/values.yaml >"$dir/values.yaml"
  fi
  "$MESH_RENDER" --config "$dir/config.yaml" render --out "$dir/tree" 2>/dev/null
  printf 'resources:\n' >"$dir/tree/manifests/kustomization.yaml"
  for f in "$dir"/tree/manifests/[0-9]*.yaml; do printf -- '- %s\n' "$(basename "$f")" >>"$dir/tree/manifests/kustomization.yaml"; done
}

# mesh-render, helm and kustomize must emit the same objects, or the comparison means nothing.
verify() {
  local dir=$work/$1
  "$MESH_RENDER" --config "$dir/config.yaml" render >"$dir/mesh.yaml" 2>/dev/null
  "$HELM" template peer bench/peer-chart -f "$dir/values.yaml" >"$dir/helm.yaml"
  if with_kustomize "$1"; then
    "$KUBECTL" kustomize "$dir/tree/manifests" >"$dir/kustomize.yaml"
    python3 bench/compare.py "$dir/mesh.yaml" "$dir/helm.yaml" "$dir/kustomize.yaml"
  else
    python3 bench/compare.py "$dir/mesh.yaml" "$dir/helm.yaml"
  fi
}

with_kustomize() {
  [ "$1" = playground ] || [ "$1" -le "$KUSTOMIZE_MAX_APPS" ]
}

# The largest maximum resident set size (KiB) of MEM_RUNS runs, from /usr/bin/time (bench/cpu.py says why).
peak_kib() {
  local max=0 kib
  for _ in $(seq "$MEM_RUNS"); do
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>&1
    kib=$(tail -1 "$work/rss")
    [ "$kib" -gt "$max" ] && max=$kib
  done
  echo "$max"
}

# `<tool> <median CPU seconds of CPU_RUNS runs> <peak RSS KiB>` of fresh runs of the command.
cpu_line() {
  local tool=$1
  shift
  echo "$tool $(python3 bench/cpu.py "$CPU_RUNS" "$@") $(peak_kib "$@")"
}

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "tools: $("$HELM" version --short 2>/dev/null), kubectl $("$KUBECTL" version --client 2>/dev/null | sed -n 's/^Kustomize Version: //p' | sed 's/^/kustomize /'), hyperfine $(hyperfine --version | cut -d' ' -f2)"
for size in "${SIZES[@]}"; do
  generate "$size"
  printf '%-10s objects: %s\n' "$size" "$(verify "$size")"
  dir=$work/$size
  mesh=("$MESH_RENDER" --config "$dir/config.yaml" render)
  helm=("$HELM" template peer bench/peer-chart -f "$dir/values.yaml")
  kust=("$KUBECTL" kustomize "$dir/tree/manifests")
  if with_kustomize "$size"; then
    hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$dir/time.json" \
      -n mesh-render "${mesh[*]}" -n helm "${helm[*]}" -n kustomize "${kust[*]}" >/dev/null 2>&1
    { cpu_line mesh-render "${mesh[@]}"; cpu_line helm "${helm[@]}"; cpu_line kustomize "${kust[@]}"; } >"$dir/cpu.txt"
  else
    hyperfine -N --style none --warmup 2 --runs "$RUNS" --export-json "$dir/time.json" \
      -n mesh-render "${mesh[*]}" -n helm "${helm[*]}" >/dev/null 2>&1
    { cpu_line mesh-render "${mesh[@]}"; cpu_line helm "${helm[@]}"; } >"$dir/cpu.txt"
  fi
done
python3 bench/report.py "$work" "${SIZES[@]}"
