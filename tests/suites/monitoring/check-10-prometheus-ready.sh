#!/usr/bin/env bash
# @description Prometheus on the controller is ready
# @nodes controller
# @timeout 120
set -euo pipefail

[[ ${PHAROS_PROMETHEUS:-0} == 1 ]] || skip "Prometheus is not enabled for this cluster"
port=${PHAROS_PROMETHEUS_PORT:-9090}
ready() { http_get "http://localhost:${port}/-/ready"; }
wait_service prometheus 60
wait_for "Prometheus to be ready on :${port}" 90 ready || fail "Prometheus is not ready on :${port}"
http_get "http://localhost:${port}/-/ready"
echo
