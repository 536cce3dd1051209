#!/usr/bin/env bash
# @description a job is confined to the CPUs it was given (its cpuset holds exactly its allocation)
# @nodes controller
# @timeout 240
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
# shellcheck disable=SC2016 # expanded inside the job
out=$(timeout 200 srun -p "${PHAROS_PARTITION:-debug}" -N1 -n1 -c1 -t 2 -J pharos-cores bash -c '
  echo "node_cpus=$(getconf _NPROCESSORS_ONLN) allowed=$(grep -oP "Cpus_allowed_list:\s*\K\S+" /proc/self/status) nproc=$(nproc)"
  cg=$(cut -d: -f3 /proc/self/cgroup); d=/sys/fs/cgroup$cg
  # (cgroup files report size 0: read them, do not test -s)
  while [ "$d" != /sys/fs/cgroup ] && [ -z "$(cat "$d/cpuset.cpus" 2>/dev/null)" ]; do d=${d%/*}; done
  echo "cpuset=$(cat "$d/cpuset.cpus" 2>/dev/null || echo none) at=$d"')
echo "$out"
nproc=$(grep -oP 'nproc=\K[0-9]+' <<<"$out")
node_cpus=$(grep -oP 'node_cpus=\K[0-9]+' <<<"$out")
cpuset=$(grep -oP 'cpuset=\K\S+' <<<"$out")
# Slurm writes no cpuset when a job has every CPU of its node.
((node_cpus > 1)) || skip "the job's node has 1 CPU: there is no other CPU to keep the job off"
[[ $cpuset != none ]] || fail "the job's cgroup has no cpuset: ConstrainCores is not in effect"
[[ $(grep -oP 'at=\K\S+' <<<"$out") == */job_* ]] || fail "the cpuset found is not in the job's own cgroup"
((nproc == 1)) || fail "a -c1 job sees ${nproc} CPUs (node has ${node_cpus})"
count=$(awk -F, '{ n = 0; for (i = 1; i <= NF; i++) { split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1) } print n }' <<<"$cpuset")
((count == 1)) || fail "the job's cpuset ${cpuset} holds ${count} CPUs, it was given 1"
echo "ok: a -c1 job runs in its own cpuset (${cpuset}) and sees 1 of ${node_cpus} CPU(s)"
