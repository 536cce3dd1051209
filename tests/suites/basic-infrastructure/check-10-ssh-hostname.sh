#!/usr/bin/env bash
# @description SSH works and the node's hostname is the one the plan gave it
# @nodes all
# @timeout 30
set -euo pipefail

short=$(hostname -s)
full=$(hostname)
echo "hostname: ${full} (short ${short}), user $(id -un), kernel $(uname -r)"
for want in "$PHAROS_NODE" "$PHAROS_NODE_DOMAIN"; do
  if [[ $short == "$want" || $full == "$want" ]]; then
    echo "ok: hostname matches ${want}"
    exit 0
  fi
done
fail "hostname ${full} matches neither ${PHAROS_NODE} nor ${PHAROS_NODE_DOMAIN}"
