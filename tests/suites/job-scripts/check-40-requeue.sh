#!/usr/bin/env bash
# @description a running batch job requeued by the admin runs again and completes
# @nodes controller
# @timeout 420
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
dir=$(shared_scratch)
job=
trap '[[ -z $job ]] || scancel "$job" 2>/dev/null || true; rm -rf "$dir"' EXIT
# The job counts its runs in a file on shared storage; the first run waits
# to be requeued, the second finishes.
# shellcheck disable=SC2016 # expanded inside the job
job=$(sbatch --parsable --requeue -p "${PHAROS_PARTITION:-debug}" -N1 -t 5 -J pharos-requeue -o /dev/null -D "$dir" \
  --wrap 'echo "run restarts=${SLURM_RESTART_COUNT:-0}" >> runs; [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] || sleep 300')
job=${job%%;*}
echo "submitted job ${job}"
started() { grep -q 'restarts=0' "$dir/runs" 2>/dev/null; }
wait_for "job ${job}'s first run" 240 started || fail "job ${job} never started"
scontrol requeue "$job"
echo "requeued job ${job}"
second() { grep -q 'restarts=1' "$dir/runs" 2>/dev/null; }
# A requeued job waits a short while before it is eligible again.
wait_for "job ${job}'s second run" 300 second || { scontrol show job "$job" || true; fail "job ${job} did not run again after the requeue"; }
wait_job "$job" 120
s=$(job_state "$job")
cat "$dir/runs"
[[ $s == COMPLETED || $s == GONE ]] || fail "requeued job ${job} ended ${s}"
[[ $(grep -c '^run ' "$dir/runs") == 2 ]] || fail "job ${job} ran $(grep -c '^run ' "$dir/runs") times, expected 2"
done_job=$job
job=
echo "ok: job ${done_job} requeued while running, ran a second time (SLURM_RESTART_COUNT=1) and completed"
