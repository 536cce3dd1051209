#!/usr/bin/env bash
# @description the controller removes this run's scratch directory
# @nodes controller
# @timeout 30
set -euo pipefail

[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured"
[[ -n ${PHAROS_SHARED_DIR:-} ]] || skip "nothing to clean up"
case $PHAROS_SHARED_DIR in
  "${PHAROS_SHARED}"/.pharos-tests/*) rm -rf "$PHAROS_SHARED_DIR" ;;
  *) fail "refusing to remove ${PHAROS_SHARED_DIR}: not under ${PHAROS_SHARED}/.pharos-tests" ;;
esac
echo "ok: removed ${PHAROS_SHARED_DIR}"
