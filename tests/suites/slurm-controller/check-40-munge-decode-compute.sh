#!/usr/bin/env bash
# @description every compute node decodes the controller's credential (same key, clocks agree)
# @nodes each-compute
# @timeout 30
set -euo pipefail

[[ -n ${PHAROS_MUNGE_CRED_CONTROLLER:-} ]] || fail "no credential from the controller (did munge-encode-controller fail?)"
if ! out=$(printf '%s\n' "$PHAROS_MUNGE_CRED_CONTROLLER" | unmunge 2>&1); then
  echo "$out"
  fail "${PHAROS_NODE} cannot decode the controller's munge credential (different munge.key or clock skew?)"
fi
grep -E '^(STATUS|ENCODE_HOST|ENCODE_TIME|DECODE_TIME)' <<<"$out"
