#!/usr/bin/env bash
# Checks the workspace's declared `rust-version` (Cargo.toml, workspace.package) without a second
# toolchain: the installed rustc must be at least that version, and no package in the resolved
# dependency tree (`cargo metadata`, every target and platform) may declare a newer `rust-version`,
# since such a package would not build on the declared floor.
#
# Usage: scripts/tools/check-rust-version.sh [--floor VERSION]   (or `make rust-version`)
#   --floor VERSION  check against VERSION instead of the workspace's rust-version (the make target
#                    uses it to prove the check fails on a floor that the tree does not meet).
# Needs cargo and python3 (a prerequisite of `make tools`) for the JSON.
# Exit 0 when the floor holds, 1 when it does not (each offender named on stderr), 2 on a usage error.
set -euo pipefail

cd "$(dirname "$0")/../.."

floor=""
case "${1-}" in
  --floor) [ $# -eq 2 ] || { echo "usage: $0 [--floor VERSION]" >&2; exit 2; }; floor="$2" ;;
  "") ;;
  *) echo "usage: $0 [--floor VERSION]" >&2; exit 2 ;;
esac

metadata="$(cargo metadata --format-version 1 --locked)"

if [ -z "$floor" ]; then
  # Every workspace member inherits the same rust-version; take the highest in case one overrides it.
  floor="$(python3 -c '
import json, sys
m = json.load(sys.stdin)
members = set(m["workspace_members"])
versions = [p["rust_version"] for p in m["packages"] if p["id"] in members and p.get("rust_version")]
versions.sort(key=lambda v: [int(x) for x in v.split(".")])
print(versions[-1] if versions else "")' <<<"$metadata")"
  [ -n "$floor" ] || { echo "check-rust-version: no workspace member declares rust-version" >&2; exit 1; }
fi

# "1.92" and "1.92.0" are the same version: compare three numeric components.
key() {
  local major minor patch
  IFS=. read -r major minor patch <<<"$1"
  printf '%05d%05d%05d\n' "${major:-0}" "${minor:-0}" "${patch:-0}"
}

status=0
rustc_version="$(rustc --version | cut -d' ' -f2 | cut -d- -f1)"
if [[ "$(key "$rustc_version")" < "$(key "$floor")" ]]; then
  echo "check-rust-version: rustc $rustc_version is older than the declared rust-version $floor" >&2
  status=1
fi

checked=0
while IFS=$'\t' read -r name version rust_version; do
  checked=$((checked + 1))
  if [[ "$(key "$floor")" < "$(key "$rust_version")" ]]; then
    echo "check-rust-version: $name $version declares rust-version $rust_version, newer than $floor" >&2
    status=1
  fi
done < <(python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p.get("rust_version"):
        print(p["name"], p["version"], p["rust_version"], sep="\t")' <<<"$metadata")

if [ "$status" -eq 0 ]; then
  echo "check-rust-version: rustc $rustc_version >= $floor; $checked packages declare a rust-version, none newer" >&2
fi
exit "$status"
