#!/usr/bin/env bash
# Runs the oracle (oracle/, CONTRIBUTING.md "The oracle") on the playground's committed tree and on
# a fresh render of every golden config, and prints one summary line. Called by `make oracle`,
# which builds the oracle and passes ORACLE, HELM and CARGO.
#
#   analyze  Istio's analyzers on every tree; findings must be listed in oracle/expected-findings.tsv
#   inject   Istio's injector on the playground's pods; the committed fixtures must be what it writes
#   flows    Istio's config generator against every row of `mesh-render flows --format json`;
#            known disagreements are listed in oracle/expected-disagreements.tsv
#
# Exit 1 if any step disagrees (after running all of them), 2 on an error.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root" || exit 2
: "${ORACLE:?set by make oracle}" "${HELM:?set by make oracle}" "${CARGO:=cargo}"
work="target/oracle"
rm -rf "$work"
mkdir -p "$work/trees" "$work/flows"

log() { printf 'oracle: %s\n' "$*" >&2; }

"$CARGO" build --quiet --locked -p mesh-render-cli || exit 2
mr="target/debug/mesh-render"

# name config tree
trees=("playground config.yaml deployment/rendered")
for cfg in golden/*/config.yaml; do
  name="$(basename "$(dirname "$cfg")")"
  out="$work/trees/$name"
  # With the charts expanded when reference/ has the chart versions the config needs; otherwise
  # the oracle borrows the playground's istiod release (injector, mesh config) for the injection.
  "$mr" --config "$cfg" render --out "$out" --expand-charts --helm "$HELM" --charts 'reference/istio-{version}/charts' \
    >/dev/null 2>"$work/$name.render.log" ||
    "$mr" --config "$cfg" render --out "$out" >/dev/null 2>"$work/$name.render.log" || {
    log "render of $cfg failed:"
    cat "$work/$name.render.log" >&2
    exit 2
  }
  trees+=("$name $cfg $out")
done

status=0
analysed=0 findings=0 unexpected=0 compared=0 disagreements=0 known=0 undecidable=0
for entry in "${trees[@]}"; do
  read -r name cfg tree <<<"$entry"
  analysed=$((analysed + 1))
  out="$("$ORACLE" analyze --name "$name" --istiod deployment/rendered --expected oracle/expected-findings.tsv "$tree")"
  rc=$?
  printf '%s\n' "$out" | grep -v '^oracle analyze' | grep -v ': expected ' || true
  [ "$rc" -le 1 ] || exit 2
  [ "$rc" -eq 0 ] || status=1
  summary="$(printf '%s\n' "$out" | grep '^oracle analyze')"
  n="$(sed -E 's/.*: ([0-9]+) findings, ([0-9]+) unexpected, ([0-9]+) stale.*/\1 \2 \3/' <<<"$summary")"
  read -r f u s <<<"$n"
  findings=$((findings + f))
  unexpected=$((unexpected + u + s))

  "$mr" --config "$cfg" flows --format json >"$work/flows/$name.json" 2>/dev/null
  out="$("$ORACLE" flows --name "$name" --istiod deployment/rendered --expected oracle/expected-disagreements.tsv --flows "$work/flows/$name.json" "$tree")"
  rc=$?
  printf '%s\n' "$out" | grep -E ': (DISAGREE|STALE)' || true
  [ "$rc" -le 1 ] || { printf '%s\n' "$out" >&2; exit 2; }
  [ "$rc" -eq 0 ] || status=1
  summary="$(printf '%s\n' "$out" | grep '^oracle flows')"
  read -r c d un k st <<<"$(sed -E 's/.*: ([0-9]+) flows compared, ([0-9]+) disagreements, ([0-9]+) undecidable, ([0-9]+) known disagreements, ([0-9]+) stale.*/\1 \2 \3 \4 \5/' <<<"$summary")"
  compared=$((compared + c))
  disagreements=$((disagreements + d + st))
  known=$((known + k))
  undecidable=$((undecidable + un))
done

out="$("$ORACLE" inject --check --out crates/mesh-render-cli/tests/fixtures/injected deployment/rendered)"
rc=$?
printf '%s\n' "$out" | grep -v '^oracle inject' || true
[ "$rc" -le 1 ] || exit 2
[ "$rc" -eq 0 ] || status=1
injected="$(sed -nE 's/^oracle inject: ([0-9]+) pods, ([0-9]+) stale.*/\1 pods, \2 stale fixtures/p' <<<"$out")"

echo "oracle: $analysed trees analysed, $findings findings ($unexpected unexpected or stale), $compared flows compared, $disagreements disagreements (+$known known, oracle/expected-disagreements.tsv), $undecidable undecidable; injector: $injected"
exit "$status"
