#!/usr/bin/env bash
# @description a user's sbatch job runs as that user on a compute node and its output lands in their home
# @nodes controller
# @timeout 300
set -euo pipefail

[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users)"
((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
user=$(first_user)
home="${PHAROS_HOME_ROOT}/${user}"
rm -f "${home}/.pharos-home-check"
# Submitted from the home directory, like a user at a login node would.
job=$(as_user "$user" "sbatch --parsable -p ${PHAROS_PARTITION:-debug} -N1 -t 5 -J pharos-user-job -o pharos-user-%j.out --wrap 'echo uid=\$(id -u) user=\$(id -un) host=\$(hostname -s) pwd=\$(pwd)'")
job=${job%%;*}
echo "submitted job ${job} as ${user}"
trap 'rm -f "${home}/pharos-user-${job}.out"' EXIT
wait_job "$job" 240
out="${home}/pharos-user-${job}.out"
wait_for "the output file ${out}" 30 test -s "$out" || { ls -la "$home"; fail "job ${job}'s output is not in ${home}"; }
cat "$out"
uid=$(grep -oP 'uid=\K[0-9]+' "$out")
((uid != 0)) || fail "job ${job} ran as root"
[[ $(getent passwd "$user" | cut -d: -f3) == "$uid" ]] || fail "job ${job} ran as uid ${uid}, not ${user}"
[[ $(stat -c %U "$out") == "$user" ]] || fail "${out} belongs to $(stat -c %U "$out"), not ${user}"
grep -q "pwd=${home}$" "$out" || fail "job ${job} did not start in the directory it was submitted from (${home})"
host=$(grep -oP 'host=\K\S+' "$out")
[[ $host != "$(hostname -s)" ]] || fail "job ${job} ran on the controller"
echo "ok: job ${job} ran as ${user} (uid ${uid}) on ${host}; its output is in ${home}"
