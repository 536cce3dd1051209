#!/usr/bin/env bash
# @description every node reads back exactly what the compute node wrote
# @nodes all
# @timeout 60
set -euo pipefail

[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured"
((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node wrote a file (controller-only cluster)"
[[ -n ${PHAROS_SHARED_FILE:-} ]] || fail "no file to read (did write fail?)"
wait_for "${PHAROS_SHARED_FILE} to be visible" 30 test -s "$PHAROS_SHARED_FILE"
sum=$(sha256sum "$PHAROS_SHARED_FILE" | cut -d' ' -f1)
[[ $sum == "$PHAROS_SHARED_SHA256" ]] || fail "${PHAROS_NODE} reads sha256 ${sum}, the writer wrote ${PHAROS_SHARED_SHA256}"
echo "ok: ${PHAROS_NODE} reads the same 1 MiB"
