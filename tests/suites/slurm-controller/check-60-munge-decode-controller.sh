#!/usr/bin/env bash
# @description the controller decodes the compute node's credential (the other direction)
# @nodes controller
# @timeout 30
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node to encode a credential (controller-only cluster)"
[[ -n ${PHAROS_MUNGE_CRED_COMPUTE:-} ]] || fail "no credential from the compute node (did munge-encode-compute fail?)"
if ! out=$(printf '%s\n' "$PHAROS_MUNGE_CRED_COMPUTE" | unmunge 2>&1); then
  echo "$out"
  fail "the controller cannot decode the compute node's munge credential"
fi
grep -E '^(STATUS|ENCODE_HOST|ENCODE_TIME|DECODE_TIME)' <<<"$out"
