#!/usr/bin/env bash
# `yarn test:all` (what `./portal test` runs): every check in order, each phase timed, so a
# slow or failing run says where its time went. Stops at the first failing phase.
set -euo pipefail
cd "$(dirname "$0")/.."

phase() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "== $name"
  if "$@"; then
    echo "phase: $name $((SECONDS - start))s"
  else
    local rc=$?
    echo "phase: $name FAILED after $((SECONDS - start))s"
    exit "$rc"
  fi
}

phase "config check" yarn config:check
phase lint yarn lint
phase "type check" yarn tsc
phase unit yarn test:unit
phase examples yarn test:examples
phase e2e yarn e2e
