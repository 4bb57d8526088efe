#!/usr/bin/env bash
# Installs what atcr needs on a fresh Debian machine that has only Node.js/npm.
#   scripts/setup.sh         Bun and the project's packages (enough to run a hold)
#   scripts/setup.sh --test  also the real parts the integration suite starts: Ceph radosgw (S3), Docker engine,
#                            and the official ATProto PDS + PLC (@atproto/dev-env, run under node)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v bun >/dev/null 2>&1; then
  echo "setup: installing bun from npm"
  npm install -g --no-fund --no-audit bun >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  pkgs=(ceph-mon ceph-osd radosgw ceph-common docker.io curl ca-certificates skopeo buildah podman)
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ ! -d test/pds/node_modules/@atproto/dev-env ]; then
    echo "setup: installing @atproto/dev-env for the test PDS (builds better-sqlite3; about a minute)"
    (cd test/pds && npm install --no-fund --no-audit --loglevel=error)
  fi
fi

bun install --silent
