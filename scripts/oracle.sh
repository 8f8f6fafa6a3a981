#!/usr/bin/env bash
# Runs the oracle (oracle/, CONTRIBUTING.md "The oracle") on the playground's committed tree, on a
# fresh render of every golden config and of every environment of those and of the playground, and on the steps `mesh-render upgrade --canary` writes from
# the last golden canary step to 1.31.1 (the path the plan tests walk), and prints one summary line.
# Called by `make oracle` (and with --write-fixtures by `make oracle-fixtures`), which builds the
# oracle and passes ORACLE, HELM and CARGO.
#
#   analyze  Istio's analyzers on every tree; findings must be listed in oracle/expected-findings.tsv
#   inject   Istio's injector on the playground's pods, and on the fake cluster's pod once per istiod
#            revision of the canary path; the committed fixtures must be what it writes
#   flows    Istio's config generator against every row of `mesh-render flows --format json`;
#            known disagreements are listed in oracle/expected-disagreements.tsv, the undecidable
#            rows' count per reason in oracle/expected-undecidable.tsv
#   multicluster  a golden config with components.istio.multiCluster (a fleet) is one tree per
#            cluster (`--cluster NAME`, judged as above), and its fleet render (every cluster's tree
#            under clusters/<name>/) goes to `oracle multicluster`: one istiod per cluster, the
#            endpoints a client gets for the other clusters' Services, and the cross-cluster rows
#
# Every tree is rendered with its istiod charts expanded. A chart version that reference/ does not
# vendor is stood in for by the vendored chart mesh-render itself picks for it
# (crates/mesh-render/src/versions.rs `reference_charts`: the newest vendored patch of the line at or
# below it, else the line's oldest, else the line's release candidate), relabelled with the version
# (Chart.yaml version and appVersion, values.yaml global.tag): its templates are the stand-in's.
#
# Exit 1 if any step disagrees (after running all of them), 2 on an error.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 2
: "${ORACLE:?set by make oracle}" "${HELM:?set by make oracle}" "${CARGO:=cargo}"
write=""
[ "${1:-}" = "--write-fixtures" ] && write=1
work="target/oracle"
rm -rf "$work"
mkdir -p "$work/trees" "$work/flows" "$work/charts" "$work/steps" "$work/fleets"

log() { printf 'oracle: %s\n' "$*" >&2; }

"$CARGO" build --quiet --locked -p mesh-render-cli || exit 2
# Where cargo put it: CARGO_TARGET_DIR or a cargo config may move the target directory.
target_dir="$("$CARGO" metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')" || exit 2
mr="$target_dir/debug/mesh-render"

# vendored PATTERN: the vendored chart versions reference/istio-PATTERN, oldest first.
vendored() {
  local d
  for d in reference/istio-$1; do
    [ -d "$d/charts" ] && printf '%s\n' "${d#reference/istio-}"
  done | sort -V
}

# standin VERSION: the vendored chart version that stands in for VERSION (versions.rs reference_charts).
standin() {
  local v=$1 line=${1%.*} releases best=""
  releases=$(vendored "$line.*" | grep -v -- -)
  for r in $releases; do
    [ "$(printf '%s\n%s\n' "$r" "$v" | sort -V | tail -1)" = "$v" ] && best=$r
  done
  [ -n "$best" ] || best=$(head -1 <<<"$releases")
  [ -n "$best" ] || best=$(vendored "$line.*" | grep -- - | head -1)
  [ -n "$best" ] || best=$(vendored "*" | grep -v -- - | head -1)
  printf '%s\n' "$best"
}

# charts VERSION: $work/charts/istio-VERSION/charts, the vendored charts or their stand-in.
standins=""
charts() {
  local v=$1 dir="$work/charts/istio-$1"
  [ -e "$dir" ] && return 0
  if [ -d "reference/istio-$v/charts" ]; then
    ln -s "$root/reference/istio-$v" "$dir"
    return 0
  fi
  local s
  s=$(standin "$v")
  mkdir -p "$dir"
  cp -r "reference/istio-$s/charts" "$dir/charts"
  for c in "$dir"/charts/*/; do
    sed -i -E "s/^(version|appVersion): .*/\1: $v/" "$c/Chart.yaml"
    [ -f "$c/values.yaml" ] && sed -i -E "s/^    tag: $s\$/    tag: $v/" "$c/values.yaml"
  done
  standins="$standins $v<-$s"
}

# envs CONFIG: the environments CONFIG declares (components.istio.environments), as mesh-render
# itself reads them: the names its MR009 hint lists for an undeclared environment.
envs() {
  "$mr" --config "$1" --env oracle-no-such-environment render 2>&1 >/dev/null |
    sed -nE 's/^  hint: declared: (.*)$/\1/p' | tr -d ' ' | tr ',' '\n' | grep . || true
}

# clusters CONFIG: the clusters of a multi-cluster CONFIG (components.istio.multiCluster.clusters),
# as mesh-render itself reads them: the names its MR011 hint lists for an unknown cluster; none for a
# config of one cluster.
clusters() {
  "$mr" --config "$1" --cluster oracle-no-such-cluster render 2>&1 >/dev/null |
    sed -nE 's/^  hint: listed: (.*)$/\1/p' | tr -d ' ' | tr ',' '\n' | grep . || true
}

# render NAME CONFIG [ENV [CLUSTER]]: renders CONFIG (in environment ENV, for cluster CLUSTER of a
# multi-cluster mesh; - for none) with its charts expanded into $work/trees/NAME.
render() {
  local name=$1 cfg=$2 env=${3:--} cluster=${4:--} out="$work/trees/$1" envflag=()
  [ "$env" = - ] || envflag=(--env "$env")
  [ "$cluster" = - ] || envflag+=(--cluster "$cluster")
  "$mr" --config "$cfg" "${envflag[@]}" render --out "$out" >/dev/null 2>"$work/$name.render.log" || {
    log "render of $cfg failed:"
    cat "$work/$name.render.log" >&2
    exit 2
  }
  # The chart versions the wrapper chart depends on (base and one istiod per revision).
  while read -r v; do
    charts "$v"
  done < <(sed -nE 's/^  version: "?([^"]+)"?$/\1/p' "$out/helm/Chart.yaml" | sort -u)
  rm -rf "$out"
  "$mr" --config "$cfg" "${envflag[@]}" render --out "$out" --expand-charts --helm "$HELM" --charts "$work/charts/istio-{version}/charts" \
    >/dev/null 2>"$work/$name.render.log" || {
    log "render of $cfg with its charts expanded failed:"
    cat "$work/$name.render.log" >&2
    exit 2
  }
  trees+=("$name $cfg $env $cluster $out")
}

# renderall NAME CONFIG SNAPDIR: every environment of CONFIG as the tree NAME@ENV. The golden
# snapshots (crates/mesh-render/tests/common/mod.rs golden_cases: one per declared environment, an
# orphan fails there) must name the same environments, or this list is wrong.
renderall() {
  local name=$1 cfg=$2 snaps=$3 e want have
  want=$(envs "$cfg" | sort)
  have=$(find "$snaps" -maxdepth 1 -name "$name@*.snap" ! -name '*-flows.snap' -printf '%f\n' | sed -E "s/^$name@(.*)\.snap$/\1/" | sort)
  if [ "$want" != "$have" ]; then
    log "$cfg declares environments [$(tr '\n' ' ' <<<"$want")], the golden snapshots in $snaps have [$(tr '\n' ' ' <<<"$have")]"
    exit 2
  fi
  for e in $want; do
    render "$name@$e" "$cfg" "$e"
  done
}

# renderfleet NAME CONFIG SNAPDIR: a multi-cluster CONFIG as one tree per cluster, NAME-cluster-<name>
# as the golden snapshots name them (crates/mesh-render/tests/common/mod.rs golden_cases: one per
# cluster), which must name the same clusters; and the fleet for `oracle multicluster`.
renderfleet() {
  local name=$1 cfg=$2 snaps=$3 c want have
  want=$(clusters "$cfg" | sort)
  have=$(find "$snaps" -maxdepth 1 -name "$name-cluster-*.snap" ! -name '*-flows.snap' -printf '%f\n' | sed -E "s/^$name-cluster-(.*)\.snap$/\1/" | sort)
  if [ "$want" != "$have" ]; then
    log "$cfg declares clusters [$(tr '\n' ' ' <<<"$want")], the golden snapshots in $snaps have [$(tr '\n' ' ' <<<"$have")]"
    exit 2
  fi
  if [ -n "$(envs "$cfg")" ]; then
    log "$cfg: a multi-cluster mesh with environments: the oracle does not judge them yet"
    exit 2
  fi
  for c in $want; do
    render "$name-cluster-$c" "$cfg" - "$c"
  done
  fleets+=("$name $cfg")
}

# name config env cluster tree (env, cluster - for none)
trees=("playground config.yaml - - deployment/rendered")
fleets=()
renderall playground config.yaml golden
for cfg in golden/*/config.yaml; do
  d=$(dirname "$cfg")
  if [ -n "$(clusters "$cfg")" ]; then
    renderfleet "$(basename "$d")" "$cfg" "$d"
    continue
  fi
  render "$(basename "$d")" "$cfg"
  renderall "$(basename "$d")" "$cfg" "$d"
done
# The canary path past the golden steps, as the plan tests walk it (plans_cluster.rs).
"$mr" --config golden/canary-4-old-removed/config.yaml upgrade --to 1.31.1 --canary --write-steps "$work/steps" >/dev/null 2>&1 || {
  log "mesh-render upgrade --to 1.31.1 --canary --write-steps failed"
  exit 2
}
for step in "$work"/steps/step-*.yaml; do
  render "upgrade-1.31.1-$(basename "$step" .yaml)" "$step"
done

status=0
declare -A reasons=()
analysed=0 findings=0 unexpected=0 compared=0 disagreements=0 known=0 undecidable=0

# judged CMD RC OUTPUT: the output of `oracle CMD` (flows or multicluster), which exited with RC:
# its disagreements printed, its counts and undecidable rows by reason added to the totals; the
# rows it compared in last_compared.
judged() {
  local cmd=$1 rc=$2 out=$3 kv c d un k st
  printf '%s\n' "$out" | grep -E ': (DISAGREE|STALE)' || true
  [ "$rc" -le 1 ] || { printf '%s\n' "$out" >&2; exit 2; }
  [ "$rc" -eq 0 ] || status=1
  for kv in $(printf '%s\n' "$out" | sed -nE "s/^oracle $cmd .* undecidable by reason:(.*)\$/\\1/p"); do
    reasons[${kv%=*}]=$((${reasons[${kv%=*}]:-0} + ${kv#*=}))
  done
  read -r c d un k st <<<"$(sed -nE "s/^oracle $cmd [^ ]*: ([0-9]+) flows compared, ([0-9]+) disagreements, ([0-9]+) undecidable, ([0-9]+) known disagreements, ([0-9]+) stale.*/\\1 \\2 \\3 \\4 \\5/p" <<<"$out")"
  compared=$((compared + c))
  disagreements=$((disagreements + d + st))
  known=$((known + k))
  undecidable=$((undecidable + un))
  last_compared=$c
}
for entry in "${trees[@]}"; do
  read -r name cfg env cluster tree <<<"$entry"
  envflag=()
  [ "$env" = - ] || envflag=(--env "$env")
  [ "$cluster" = - ] || envflag+=(--cluster "$cluster")
  analysed=$((analysed + 1))
  out="$("$ORACLE" analyze --name "$name" --expected oracle/expected-findings.tsv "$tree")"
  rc=$?
  printf '%s\n' "$out" | grep -v '^oracle analyze' | grep -v ': expected ' || true
  [ "$rc" -le 1 ] || exit 2
  [ "$rc" -eq 0 ] || status=1
  summary="$(printf '%s\n' "$out" | grep '^oracle analyze')"
  n="$(sed -E 's/.*: ([0-9]+) findings, ([0-9]+) unexpected, ([0-9]+) stale.*/\1 \2 \3/' <<<"$summary")"
  read -r f u s <<<"$n"
  findings=$((findings + f))
  unexpected=$((unexpected + u + s))

  "$mr" --config "$cfg" "${envflag[@]}" flows --format json >"$work/flows/$name.json" 2>/dev/null
  out="$("$ORACLE" flows --name "$name" --expected oracle/expected-disagreements.tsv --flows "$work/flows/$name.json" "$tree")"
  judged flows $? "$out"
done

# Each fleet rendered whole (clusters/<name>/, every tree expanded), judged by `oracle multicluster`
# with its clusters' flows (the cross-cluster rows; the others were judged per tree above).
nfleets=0 checks=0 endpoints=0 crossed=0
for entry in "${fleets[@]}"; do
  read -r name cfg <<<"$entry"
  out="$work/fleets/$name"
  "$mr" --config "$cfg" render --out "$out" --expand-charts --helm "$HELM" --charts "$work/charts/istio-{version}/charts" \
    >/dev/null 2>"$work/$name.render.log" || {
    log "render of the fleet $cfg with its charts expanded failed:"
    cat "$work/$name.render.log" >&2
    exit 2
  }
  files=""
  for c in $(clusters "$cfg"); do
    files="$files,$work/flows/$name-cluster-$c.json"
  done
  nfleets=$((nfleets + 1))
  out="$("$ORACLE" multicluster --name "$name" --expected oracle/expected-disagreements.tsv --flows "${files#,}" "$work/fleets/$name")"
  judged multicluster $? "$out"
  crossed=$((crossed + last_compared))
  read -r ch ep ed <<<"$(sed -nE 's/^oracle multicluster [^ ]*: .* ([0-9]+) endpoint checks \(([0-9]+) endpoints\), ([0-9]+) endpoint disagreements.*/\1 \2 \3/p' <<<"$out")"
  disagreements=$((disagreements + ed))
  checks=$((checks + ch))
  endpoints=$((endpoints + ep))
done

# Undecidable rows by reason, against oracle/expected-undecidable.tsv (reason, the most rows of that
# reason over all trees, why the oracle cannot decide them): a count above its line, or a reason
# without one, fails, so a gap in the oracle's world cannot pass silently.
expected_undecidable=oracle/expected-undecidable.tsv
declare -A allowed=()
while IFS=$'\t' read -r reason most _; do
  case "$reason" in '#'* | '') continue ;; esac
  allowed[$reason]=$most
done <"$expected_undecidable"
by_reason=""
for reason in $(printf '%s\n' "${!reasons[@]}" "${!allowed[@]}" | sort -u); do
  n=${reasons[$reason]:-0} most=${allowed[$reason]:-}
  [ "$n" -gt 0 ] && by_reason="$by_reason $reason $n,"
  if [ -z "$most" ]; then
    log "$n undecidable rows of reason $reason, which $expected_undecidable does not list"
    status=1
  elif [ "$n" -gt "$most" ]; then
    log "$n undecidable rows of reason $reason, $expected_undecidable allows $most"
    status=1
  elif [ "$n" -lt "$most" ]; then
    log "$n undecidable rows of reason $reason, $expected_undecidable allows $most: lower it"
    status=1
  fi
done
by_reason=${by_reason%,}

# The injected pods the tests read: the playground's world, and the fake cluster's pod through each
# revision's injector of the canary path (default 1.29.6, 1-30-3, 1-31-1).
fixtures=crates/mesh-render-cli/tests/fixtures
check=--check
[ -n "$write" ] && check=
pods=0 stale=0
inject() {
  local out rc
  out="$("$ORACLE" inject $check "$@")"
  rc=$?
  printf '%s\n' "$out" | grep -v '^oracle inject' || true
  [ "$rc" -le 1 ] || exit 2
  [ "$rc" -eq 0 ] || status=1
  read -r p s <<<"$(sed -nE 's/^oracle inject: ([0-9]+) pods, ([0-9]+) stale.*/\1 \2/p; s/^oracle inject: wrote ([0-9]+) pods.*/\1 0/p' <<<"$out")"
  pods=$((pods + p)) stale=$((stale + s))
}
inject --out "$fixtures/injected" deployment/rendered
revisions="$fixtures/injected/revisions"
for r in "canary-2-side-by-side default" "canary-2-side-by-side 1-30-3" "upgrade-1.31.1-step-2-tag-moved 1-31-1"; do
  read -r tree rev <<<"$r"
  inject --pod "$fixtures/fake-cluster-app.pod.yaml" --revision "$rev" --out "$revisions" "$work/trees/$tree"
done
have=$(find "$revisions" -name '*.yaml' | wc -l)
if [ "$have" -ne 3 ]; then
  log "$revisions holds $have files, want the 3 revisions' pods"
  status=1
fi

echo "oracle: $analysed trees analysed, $findings findings ($unexpected unexpected or stale), $compared flows compared ($crossed across clusters), $disagreements disagreements (+$known known, oracle/expected-disagreements.tsv), $undecidable undecidable (${by_reason# }); multicluster: $nfleets fleets, $checks endpoint checks ($endpoints endpoints); injector: $pods pods, $stale stale fixtures; charts stood in:${standins:- none}"
exit "$status"
