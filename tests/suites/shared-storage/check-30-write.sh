#!/usr/bin/env bash
# @description the first compute node writes a file with random content to shared storage
# @nodes compute
# @timeout 60
set -euo pipefail

[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured"
[[ -n ${PHAROS_SHARED_DIR:-} ]] || fail "no scratch directory (did prepare fail?)"
f="${PHAROS_SHARED_DIR}/written-by-${PHAROS_NODE}"
head -c 1048576 /dev/urandom >"$f"
sync "$f"
sum=$(sha256sum "$f" | cut -d' ' -f1)
export_var PHAROS_SHARED_FILE "$f"
export_var PHAROS_SHARED_SHA256 "$sum"
echo "ok: wrote 1 MiB to ${f} (sha256 ${sum})"
