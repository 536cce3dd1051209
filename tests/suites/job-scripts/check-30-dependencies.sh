#!/usr/bin/env bash
# @description afterok runs after success, afternotok after failure, and afterok on a failure never runs
# @nodes controller
# @timeout 360
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} > 0)) || skip "no compute node in this cluster (controller-only)"
p=(-p "${PHAROS_PARTITION:-debug}" -N1 -t 5 -o /dev/null)
ids=()
cleanup() { ((${#ids[@]} == 0)) || scancel "${ids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
sub() { local j; j=$(sbatch --parsable "${p[@]}" "$@"); j=${j%%;*}; ids+=("$j"); echo "$j"; }
good=$(sub -J pharos-dep-good --wrap 'exit 0')
bad=$(sub -J pharos-dep-bad --wrap 'exit 1')
after_good=$(sub -J pharos-dep-afterok -d "afterok:${good}" --wrap 'exit 0')
after_bad=$(sub -J pharos-dep-afternotok -d "afternotok:${bad}" --wrap 'exit 0')
never=$(sub -J pharos-dep-never -d "afterok:${bad}" --wrap 'exit 0')
echo "good=${good} bad=${bad} afterok=${after_good} afternotok=${after_bad} never=${never}"
wait_job "$after_good" 300
wait_job "$after_bad" 120
for j in "$after_good" "$after_bad"; do
  s=$(job_state "$j")
  [[ $s == COMPLETED || $s == GONE ]] || fail "dependent job ${j} ended ${s}"
done
reason() { squeue -h -j "$never" -o '%T %r' 2>/dev/null; }
never_runs() { [[ $(reason) == "PENDING DependencyNeverSatisfied" ]]; }
wait_for "job ${never} to be held as DependencyNeverSatisfied" 60 never_runs || fail "job ${never} is '$(reason)', expected PENDING DependencyNeverSatisfied"
echo "ok: afterok ran after ${good}, afternotok after ${bad}; ${never} (afterok on a failure) is never run"
