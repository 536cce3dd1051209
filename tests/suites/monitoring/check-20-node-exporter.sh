#!/usr/bin/env bash
# @description node exporter serves metrics on every node
# @nodes all
# @timeout 90
set -euo pipefail

[[ ${PHAROS_NODE_EXPORTER:-0} == 1 ]] || skip "node exporter is not enabled for this cluster"
port=${PHAROS_NODE_EXPORTER_PORT:-9100}
serving() { http_get "http://localhost:${port}/metrics" | grep -q '^node_exporter_build_info'; }
wait_for "node exporter metrics on :${port}" 60 serving
http_get "http://localhost:${port}/metrics" | grep -m1 '^node_exporter_build_info'
