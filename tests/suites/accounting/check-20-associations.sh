#!/usr/bin/env bash
# @description the config's account and each configured user are associated in slurmdbd
# @nodes controller
# @timeout 60
set -euo pipefail

[[ ${PHAROS_ACCOUNTING:-0} == 1 ]] || skip "accounting is off (slurm_config.accounting.enabled)"
cluster=${PHAROS_SLURM_CLUSTER:?set by the slurmdbd check}
account=${PHAROS_ACCOUNT:-pharos}
assoc=$(sacctmgr -n -P list assoc cluster="$cluster" format=account,user)
echo "$assoc"
grep -q "^${account}|$" <<<"$assoc" || fail "account ${account} has no association in cluster ${cluster}"
n=0
while read -r name _ _; do
  grep -qx "${account}|${name}" <<<"$assoc" || fail "user ${name} is not associated with account ${account}"
  n=$((n + 1))
done < <(user_lines)
echo "ok: account ${account} with ${n} configured user(s) in cluster ${cluster}"
