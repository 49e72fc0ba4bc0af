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
# After tsc: the reports are made from its declarations; --ci fails on any API change not
# committed (run `yarn build:api-reports` and commit the report.api.md files).
phase "api reports" yarn build:api-reports --ci
phase unit yarn test:unit
phase examples yarn test:examples
phase e2e yarn e2e
# The adopter's path (a fresh create-app app installing the packed plugins): long, so on
# request only.
if [ "${ADOPTER_TEST:-}" = 1 ]; then
  phase adopter yarn test:adopter
fi
