#!/usr/bin/env bash
# @description slurmdbd runs on the controller, slurmctld stores into it, and the cluster is registered
# @nodes controller
# @timeout 120
set -euo pipefail

[[ ${PHAROS_ACCOUNTING:-0} == 1 ]] || skip "accounting is off (slurm_config.accounting.enabled)"
wait_service mariadb 60
wait_service slurmdbd 60
storage=$(scontrol show config | awk -F' = ' '$1 ~ /^AccountingStorageType/ { print $2 }')
[[ $storage == accounting_storage/slurmdbd ]] || fail "slurmctld stores accounting with '${storage}', not slurmdbd"
cluster=$(scontrol show config | awk -F' = ' '$1 ~ /^ClusterName/ { print $2 }')
wait_for "cluster ${cluster} in slurmdbd" 60 bash -c "sacctmgr -n -P list cluster format=cluster | grep -qxF '${cluster}'" ||
  fail "slurmdbd does not know cluster ${cluster}"
# slurmctld has registered: sacctmgr shows its control host and port.
registered() { [[ -n $(sacctmgr -n -P list cluster "$cluster" format=controlhost | tr -d '[:space:]') ]]; }
wait_for "slurmctld to register with slurmdbd" 120 registered || {
  sacctmgr list cluster || true
  fail "slurmctld never registered cluster ${cluster} with slurmdbd"
}
sacctmgr -n -P list cluster "$cluster" format=cluster,controlhost,controlport
export_var PHAROS_SLURM_CLUSTER "$cluster"
echo "ok: slurmdbd holds cluster ${cluster}, slurmctld registered with it"
