#!/usr/bin/env bash
# @description sreport answers from the accounting database: a job report for the cluster and the utilization report
# @nodes controller
# @timeout 60
set -euo pipefail

[[ ${PHAROS_ACCOUNTING:-0} == 1 ]] || skip "accounting is off (slurm_config.accounting.enabled)"
cluster=${PHAROS_SLURM_CLUSTER:?set by the slurmdbd check}
# Job reports read the job table: the jobs of the job-records check are there.
jobs=$(sreport -n -P job sizesbyaccount start=now-1days end=now+1hours cluster="$cluster") || fail "sreport job sizesbyaccount failed"
echo "$jobs"
grep -q "^${cluster}|" <<<"$jobs" || fail "sreport's job report has no line for cluster ${cluster}"
# Utilization is rolled up hourly, so a cluster younger than an hour has no
# row yet: the report itself must come back with its columns.
util=$(sreport -P cluster utilization start=now-1days end=now cluster="$cluster") || fail "sreport cluster utilization failed"
echo "$util"
grep -q '^Cluster|Allocated|Down|' <<<"$util" || fail "sreport cluster utilization printed no report"
echo "ok: sreport answers for ${cluster} (job sizes by account, cluster utilization)"
