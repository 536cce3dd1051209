#!/usr/bin/env bash
# @description sreport answers from the accounting database: the job-size and the utilization report, with their columns
# @nodes controller
# @timeout 60
set -euo pipefail

[[ ${PHAROS_ACCOUNTING:-0} == 1 ]] || skip "accounting is off (slurm_config.accounting.enabled)"
cluster=${PHAROS_SLURM_CLUSTER:?set by the slurmdbd check}
# sreport reads what slurmdbd rolls up each hour: a cluster younger than an
# hour has no rows yet, so what is checked is that each report comes back
# from the database with its columns.
jobs=$(sreport -P job sizesbyaccount start=now-1days end=now+1hours cluster="$cluster") || fail "sreport job sizesbyaccount failed"
echo "$jobs"
grep -q '^Cluster|Account|' <<<"$jobs" || fail "sreport job sizesbyaccount printed no report"
util=$(sreport -P cluster utilization start=now-1days end=now cluster="$cluster") || fail "sreport cluster utilization failed"
echo "$util"
grep -q '^Cluster|Allocated|Down|' <<<"$util" || fail "sreport cluster utilization printed no report"
echo "ok: sreport answers for ${cluster} (job sizes by account, cluster utilization)"
