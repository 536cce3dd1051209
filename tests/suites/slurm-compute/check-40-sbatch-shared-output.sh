#!/usr/bin/env bash
# @description an sbatch job completes and its output lands on shared storage
# @nodes controller
# @timeout 300
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
[[ ${PHAROS_SHARED_KIND:-none} != none ]] || skip "no shared storage configured: batch output would stay on the compute node"
dir=$(shared_scratch)
trap 'rm -rf "$dir"' EXIT
token="pharos-$RANDOM-$RANDOM"
job=$(sbatch --parsable -p "${PHAROS_PARTITION:-debug}" -N1 -t 5 -J pharos-batch -D "$dir" \
  -o "$dir/job-%j.out" --wrap "echo host=\$(hostname -s); echo token=${token}")
job=${job%%;*}
echo "submitted job ${job}"
out="$dir/job-${job}.out"

wait_for "job ${job} to finish" 240 job_over "$job" || { scontrol show job "$job" || true; fail "batch job ${job} did not finish"; }
state=$(job_state "$job")
echo "job ${job}: ${state}"
# The file is written by the compute node through NFS; close-to-open makes it visible here.
wait_for "the job's output file ${out}" 30 grep -q "^token=${token}$" "$out" || {
  ls -la "$dir"
  cat "$out" 2>/dev/null || true
  fail "job ${job}'s output never appeared on shared storage"
}
cat "$out"
[[ $state == COMPLETED || $state == GONE ]] || fail "job ${job} ended ${state}"
