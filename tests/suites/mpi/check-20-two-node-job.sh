#!/usr/bin/env bash
# @description srun --mpi=pmix -N2 -n2 runs an mpi4py allreduce on two compute nodes (as the first user), its TCP traffic between their cluster addresses
# @nodes controller
# @timeout 300
# @file examples/mpi/allreduce.py
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} >= 2)) || skip "only ${PHAROS_COMPUTE_COUNT:-0} compute node(s): a two-node MPI job needs two"
dir=$(shared_scratch)
trap 'rm -rf "$dir"' EXIT
prog="${dir}/allreduce.py"
# The example itself (examples/mpi/allreduce.py, sent with the check): jobs
# read it from the shared storage.
cp "${PHAROS_CHECK_FILES}/allreduce.py" "$prog"
chmod 0644 "$prog"

cmd="timeout 240 srun --mpi=pmix -p ${PHAROS_PARTITION:-debug} -N2 -n2 --ntasks-per-node=1 -t 4 -J pharos-mpi python3 ${prog}"
if [[ -n ${PHAROS_USERS:-} ]]; then
  who=$(first_user)
  out=$(as_user "$who" "$cmd" 2>&1) || {
    echo "$out"
    fail "the MPI job as ${who} failed"
  }
else
  who=root
  out=$(cd / && $cmd 2>&1) || {
    echo "$out"
    fail "the MPI job failed"
  }
fi
echo "$out"
summary=$(grep -m1 '^{' <<<"$out") || fail "rank 0 printed no JSON summary"

# size 2, the right sum on every rank, two distinct compute nodes, and every
# connection a rank holds to another host runs between the two nodes' cluster
# addresses (none over the user-mode NIC), at least one per rank.
# Host names are the Slurm node names (<cluster>-compute-01); PHAROS_COMPUTE_NODES
# has the short ones (compute-01), in the order of PHAROS_COMPUTE_IPS.
python3 - "$summary" "$(slurm_nodes | tr '\n' ' ')" <<'PY' || fail "the MPI job's summary is wrong (above)"
import json, os, sys
s = json.loads(sys.argv[1])
slurm = sys.argv[2].split()
short_ips = dict(zip(os.environ["PHAROS_COMPUTE_NODES"].split(), os.environ["PHAROS_COMPUTE_IPS"].split()))
ips = {h: ip for h in slurm for n, ip in short_ips.items() if h == n or h.endswith("-" + n)}
bad = []
if s["size"] != 2:
    bad.append(f"size {s['size']}, expected 2")
if not s["ok"] or s["allreduce"] != 3:
    bad.append(f"allreduce gave {s['allreduce']} (ok={s['ok']}), expected 3 on every rank")
hosts = [r["host"] for r in s["ranks"]]
if len(set(hosts)) != 2:
    bad.append(f"ranks ran on {hosts}, expected two distinct hosts")
if any(h not in ips for h in hosts):
    bad.append(f"ranks ran on {hosts}, not all compute nodes of the partition ({' '.join(ips)})")
if not bad:
    for r in s["ranks"]:
        mine = ips[r["host"]]
        peer = ips[next(h for h in hosts if h != r["host"])]
        conns = [(l.rsplit(":", 1)[0], p.rsplit(":", 1)[0]) for l, p in r["connections"]]
        if not any(c == (mine, peer) for c in conns):
            bad.append(f"rank {r['rank']} on {r['host']} holds no TCP connection {mine} -> {peer}: {r['connections']}")
        off = [c for c in conns if c[0] not in ips.values() or c[1] not in ips.values()]
        if off:
            bad.append(f"rank {r['rank']} on {r['host']} has connections off the cluster network: {off}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
echo "ok: 2 ranks on $(python3 -c 'import json, sys; print(" and ".join(r["host"] for r in json.loads(sys.argv[1])["ranks"]))' "$summary") as ${who}: allreduce 3, TCP between their cluster addresses"
