#!/usr/bin/env bash
# @description slurmd is active on every compute node and sees its GPUs' device files
# @nodes each-compute
# @timeout 120
set -euo pipefail

if command -v systemctl >/dev/null 2>&1; then
  wait_for "slurmd to be active" 90 systemctl is-active --quiet slurmd || {
    systemctl status slurmd --no-pager -l | tail -n 20 || true
    exit 1
  }
else
  wait_for "a slurmd process" 90 pgrep -x slurmd
fi
# slurmd -C prints what the daemon detects on this node (CPUs, memory).
slurmd -C | head -n 1
