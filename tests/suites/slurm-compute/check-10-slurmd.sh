#!/usr/bin/env bash
# @description slurmd is active on every compute node
# @nodes each-compute
# @timeout 120
set -euo pipefail

wait_service slurmd 90
# slurmd -C prints what the daemon detects on this node (CPUs, memory).
slurmd -C | head -n 1
