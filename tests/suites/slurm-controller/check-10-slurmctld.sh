#!/usr/bin/env bash
# @description slurmctld is active and answers scontrol ping
# @nodes controller
# @timeout 120
set -euo pipefail

wait_service slurmctld 60
ctld_up() {
  local out
  out=$(scontrol ping) || return 1
  [[ $out == *"is UP"* ]]
}
wait_for "scontrol ping to report UP" 60 ctld_up || { scontrol ping || true; fail "slurmctld does not answer scontrol ping"; }
scontrol ping
