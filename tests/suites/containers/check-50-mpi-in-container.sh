#!/usr/bin/env bash
# @description srun --mpi=pmix -N2 -n2 pharos-run runs the MPI allreduce inside the image on both compute nodes (PMIx through the container)
# @nodes controller
# @timeout 600
# @file examples/mpi/allreduce.py
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster's registry"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users configured: bundles belong to a user"
((${PHAROS_COMPUTE_COUNT:-0} >= 2)) || skip "only ${PHAROS_COMPUTE_COUNT:-0} compute node(s): a two-node MPI job needs two"
who=$(first_user)
home="${PHAROS_HOME_ROOT:-/shared/home}/${who}"
bundle="${home}/containers/pytorch"
[[ -f ${bundle}/config.json ]] || fail "no bundle at ${bundle} (check 30 makes it)"
install -o "$who" -m 0644 "${PHAROS_CHECK_FILES}/allreduce.py" "${home}/allreduce.py"
cmd="timeout 500 srun --mpi=pmix -p ${PHAROS_PARTITION:-debug} -N2 -n2 --ntasks-per-node=1 -t 8 -J pharos-mpi-container pharos-run ${bundle} python3 ${home}/allreduce.py"
out=$(as_user "$who" "$cmd" 2>&1) || {
  echo "$out"
  fail "the MPI job in the container failed"
}
echo "$out"
summary=$(grep -m1 '^{' <<<"$out") || fail "rank 0 printed no JSON summary"
python3 - "$summary" <<'PY' || fail "the containerised MPI job's summary is wrong (above)"
import json, sys
s = json.loads(sys.argv[1])
hosts = {r["host"] for r in s["ranks"]}
bad = []
if s["size"] != 2 or not s["ok"] or s["allreduce"] != 3:
    bad.append(f"size {s['size']}, allreduce {s['allreduce']}, ok {s['ok']}: expected 2, 3, true")
if len(hosts) != 2:
    bad.append(f"ranks on {sorted(hosts)}, expected two hosts")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
echo "ok: 2 ranks in the container on $(python3 -c 'import json, sys; print(" and ".join(r["host"] for r in json.loads(sys.argv[1])["ranks"]))' "$summary"): allreduce 3"
