#!/usr/bin/env bash
# @description the controller encodes a munge credential for the compute nodes to decode
# @nodes controller
# @timeout 30
set -euo pipefail

cred=$(munge -n -t 600)
[[ $cred == MUNGE:* ]] || fail "munge -n printed no credential: ${cred}"
export_var PHAROS_MUNGE_CRED_CONTROLLER "$cred"
echo "ok: credential encoded on ${PHAROS_NODE}"
