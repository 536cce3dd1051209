#!/usr/bin/env bash
# @description node exporter serves metrics on every node
# @nodes all
# @timeout 90
set -euo pipefail

[[ ${PHAROS_NODE_EXPORTER:-0} == 1 ]] || skip "node exporter is not enabled for this cluster"
port=${PHAROS_NODE_EXPORTER_PORT:-9100}
# Read the whole page before grepping: with pipefail, grep -q quitting early
# would make the writer fail with SIGPIPE.
metrics() { http_get "http://localhost:${port}/metrics"; }
serving() {
  local m
  m=$(metrics) || return 1
  grep -q '^node_exporter_build_info' <<<"$m"
}
wait_service prometheus-node-exporter 60
wait_for "node exporter metrics on :${port}" 60 serving || fail "node exporter serves no metrics on :${port}"
m=$(metrics)
grep -m1 '^node_exporter_build_info' <<<"$m"
