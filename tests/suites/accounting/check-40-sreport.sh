#!/usr/bin/env bash
# @description sreport answers for the cluster from the accounting database
# @nodes controller
# @timeout 60
set -euo pipefail

[[ ${PHAROS_ACCOUNTING:-0} == 1 ]] || skip "accounting is off (slurm_config.accounting.enabled)"
cluster=${PHAROS_SLURM_CLUSTER:?set by the slurmdbd check}
# Usage is rolled up hourly, so this hour's numbers may still be zero; the
# report itself must come back, naming the cluster.
out=$(sreport -n -P cluster utilization start=now-1days end=now cluster="$cluster") || fail "sreport failed"
echo "$out"
grep -q "^${cluster}|" <<<"$out" || fail "sreport has no line for cluster ${cluster}"
echo "ok: sreport answers for ${cluster}"
