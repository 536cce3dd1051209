#!/usr/bin/env bash
# @description the controller makes a scratch directory for this run on shared storage
# @nodes controller
# @timeout 30
set -euo pipefail

[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured"
dir=$(shared_scratch)
export_var PHAROS_SHARED_DIR "$dir"
echo "ok: ${dir}"
