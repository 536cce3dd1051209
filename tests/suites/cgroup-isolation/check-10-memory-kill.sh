#!/usr/bin/env bash
# @description a job that allocates past its --mem is killed by its memory cgroup and recorded OUT_OF_MEMORY
# @nodes controller
# @timeout 360
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
# The job reports its cgroup's memory limit, then touches 256 MiB with a 64 MiB limit.
# shellcheck disable=SC2016 # expanded inside the job
# The effective limit is the smallest memory.max from the job's cgroup up.
script='d=/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup); limit=none; at=none
while [ "$d" != /sys/fs/cgroup ]; do
  v=$(cat "$d/memory.max" 2>/dev/null || echo max)
  if [ "$v" != max ] && { [ "$limit" = none ] || [ "$v" -lt "$limit" ]; }; then limit=$v; at=$d; fi
  d=${d%/*}
done
echo "limit=$limit cgroup=$at"
python3 -c "b = bytearray(256 << 20); b[::4096] = b\"x\" * len(b[::4096]); print(\"survived\")"'
dir=$(shared_scratch)
trap 'rm -rf "$dir"' EXIT
job=$(sbatch --parsable -p "${PHAROS_PARTITION:-debug}" -N1 -n1 --mem=64M -t 5 -J pharos-oom -o "$dir/oom-%j.out" --wrap "$script")
job=${job%%;*}
echo "submitted job ${job} (--mem=64M, touches 256 MiB)"
wait_job "$job" 240
cat "$dir/oom-${job}.out" 2>/dev/null || true
limit=$(grep -oP 'limit=\K\S+' "$dir/oom-${job}.out" || echo none)
[[ $limit == $((64 << 20)) ]] || fail "job ${job}'s memory cgroup limit is ${limit}, expected $((64 << 20)) (64 MiB)"
! grep -q survived "$dir/oom-${job}.out" || fail "job ${job} allocated 256 MiB past its 64 MiB limit and was not killed"
if [[ ${PHAROS_ACCOUNTING:-0} == 1 ]]; then
  rec=$(wait_sacct "$job" 90) || fail "$rec"
  IFS='|' read -r state code _ _ _ <<<"$rec"
else
  state=$(job_state "$job") code="(no sacct)"
fi
echo "job ${job}: ${state} ${code}"
[[ $state == OUT_OF_MEMORY ]] || fail "job ${job} is recorded ${state}, expected OUT_OF_MEMORY"
echo "ok: job ${job} limited to 64 MiB, killed at 256 MiB, recorded OUT_OF_MEMORY"
