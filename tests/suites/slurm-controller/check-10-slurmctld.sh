#!/usr/bin/env bash
# @description slurmctld is active and answers scontrol ping
# @nodes controller
# @timeout 120
set -euo pipefail

if command -v systemctl >/dev/null 2>&1; then
  wait_for "slurmctld to be active" 60 systemctl is-active --quiet slurmctld || {
    systemctl status slurmctld --no-pager -l | tail -n 20 || true
    exit 1
  }
else
  wait_for "a slurmctld process" 60 pgrep -x slurmctld
fi
ctld_up() { scontrol ping | grep -q 'is UP'; }
wait_for "scontrol ping to report UP" 60 ctld_up
scontrol ping
