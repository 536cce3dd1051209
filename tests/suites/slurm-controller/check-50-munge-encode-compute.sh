#!/usr/bin/env bash
# @description the first compute node encodes a credential for the controller
# @nodes compute
# @timeout 30
set -euo pipefail

cred=$(munge -n -t 600)
[[ $cred == MUNGE:* ]] || fail "munge -n printed no credential: ${cred}"
export_var PHAROS_MUNGE_CRED_COMPUTE "$cred"
echo "ok: credential encoded on ${PHAROS_NODE}"
