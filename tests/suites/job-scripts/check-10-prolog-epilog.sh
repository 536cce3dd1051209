#!/usr/bin/env bash
# @description the prolog runs before and the epilog after a job on its node, each logging the job
# @nodes compute
# @timeout 300
set -euo pipefail

node=$PHAROS_NODE_DOMAIN
log=/var/log/slurm/pharos-job-hooks.log
[[ -x /etc/slurm/prolog.d/10-pharos && -x /etc/slurm/epilog.d/90-pharos ]] || fail "the Pharos job hooks are not installed on ${PHAROS_NODE}"
# The job records when it ran, so the prolog line can be proven earlier.
job=$(sbatch --parsable -p "${PHAROS_PARTITION:-debug}" -w "$node" -N1 -t 5 -J pharos-hooks -o /dev/null \
  --wrap "grep -c \" prolog job=\${SLURM_JOB_ID} \" $log > /tmp/pharos-hooks-\${SLURM_JOB_ID}")
job=${job%%;*}
echo "submitted job ${job} on ${node}"
wait_job "$job" 240
# The epilog runs once the job's processes are gone, right after the end.
wait_for "the epilog line of job ${job}" 60 grep -q " epilog job=${job} " "$log" || {
  tail -n 20 "$log" || true
  fail "no epilog line for job ${job} in ${log}"
}
grep -E " (prolog|epilog) job=${job} " "$log"
seen=$(cat "/tmp/pharos-hooks-${job}" 2>/dev/null || echo 0)
rm -f "/tmp/pharos-hooks-${job}"
[[ $seen == 1 ]] || fail "job ${job} did not find its prolog line while it ran (the prolog did not run first)"
grep -q " prolog job=${job} .*result=ok" "$log" || fail "the prolog of job ${job} did not succeed"
echo "ok: prolog before and epilog after job ${job} on ${PHAROS_NODE}"
