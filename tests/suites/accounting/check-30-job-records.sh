#!/usr/bin/env bash
# @description sacct shows finished jobs with their state, exit code, elapsed time and allocated GPU
# @nodes controller
# @timeout 420
set -euo pipefail

[[ ${PHAROS_ACCOUNTING:-0} == 1 ]] || skip "accounting is off (slurm_config.accounting.enabled)"
((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
gres=()
((${PHAROS_TOTAL_GPUS:-0} > 0)) && gres=(--gres=gpu:1)
user=root
[[ -n ${PHAROS_USERS:-} ]] && user=$(first_user)
submit() { as_user "$user" "sbatch --parsable -p ${PHAROS_PARTITION:-debug} -N1 -t 5 -o /dev/null ${gres[*]} $*"; }
ok=$(submit "-J pharos-acct-ok --wrap 'sleep 2'")
bad=$(submit "-J pharos-acct-fail --wrap 'exit 3'")
ok=${ok%%;*} bad=${bad%%;*}
echo "submitted ${ok} (exits 0) and ${bad} (exits 3) as ${user}"
wait_job "$ok" 240
wait_job "$bad" 120
rec=$(wait_sacct "$ok" 90) || fail "$rec"
IFS='|' read -r state code elapsed tres juser <<<"$rec"
echo "job ${ok}: state=${state} exit=${code} elapsed=${elapsed} tres=${tres} user=${juser}"
[[ $state == COMPLETED && $code == 0:0 ]] || fail "job ${ok} is recorded ${state} ${code}, expected COMPLETED 0:0"
[[ $elapsed =~ ^([0-9]+-)?[0-9]{2}:[0-9]{2}:[0-9]{2}$ && $elapsed != 00:00:00 ]] || fail "job ${ok} has elapsed '${elapsed}'"
[[ $juser == "$user" ]] || fail "job ${ok} is recorded for ${juser}, it ran as ${user}"
if ((${#gres[@]} > 0)); then
  [[ $tres == *gres/gpu=1* ]] || fail "job ${ok}'s AllocTRES '${tres}' has no gres/gpu=1"
fi
rec=$(wait_sacct "$bad" 90) || fail "$rec"
IFS='|' read -r state code _ _ _ <<<"$rec"
echo "job ${bad}: state=${state} exit=${code}"
[[ $state == FAILED && $code == 3:0 ]] || fail "job ${bad} is recorded ${state} ${code}, expected FAILED 3:0"
echo "ok: sacct records ${ok} COMPLETED 0:0 (${elapsed}, ${tres}) and ${bad} FAILED 3:0"
