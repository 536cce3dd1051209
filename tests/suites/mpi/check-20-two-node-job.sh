#!/usr/bin/env bash
# @description srun --mpi=pmix -N2 -n2 runs an mpi4py allreduce on two compute nodes (as the first user), its TCP traffic between their cluster addresses
# @nodes controller
# @timeout 300
set -euo pipefail

((${PHAROS_COMPUTE_COUNT:-0} >= 2)) || skip "only ${PHAROS_COMPUTE_COUNT:-0} compute node(s): a two-node MPI job needs two"
dir=$(shared_scratch)
trap 'rm -rf "$dir"' EXIT
prog="${dir}/allreduce.py"
# examples/mpi/allreduce.py, verbatim (tests/unit/suites/mpi-example.test.ts
# keeps the two the same): jobs read it from the shared storage.
cat >"$prog" <<'PY'
#!/usr/bin/env python3
"""An MPI allreduce across the ranks of a Slurm job (mpi4py on OpenMPI, PMIx).

Run it from a shared directory with srun's PMIx launch, one rank per node:

    srun --mpi=pmix -N2 -n2 python3 allreduce.py

Each rank prints its rank, the job's size and its host, then the ranks add up
(rank + 1) and a 1 MiB vector of it with MPI_Allreduce. Rank 0 prints one JSON
line: the sum, whether every rank got it right, and for each rank the TCP
connections its process holds to other hosts after the exchange (the addresses
MPI traffic used; loopback ones are left out). Exits 1 on a wrong sum.
"""
import json
import os
import socket
import sys
from array import array

VECTOR = 131072  # doubles: 1 MiB, past the eager limit, so it goes as bulk data


def _addr(field):
    """'0100007F:1F90' (a /proc/net/tcp address) as '127.0.0.1:8080'."""
    host, port = field.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        if raw[:12] == b"\0" * 10 + b"\xff\xff":
            ip = socket.inet_ntop(socket.AF_INET, raw[12:])
        else:
            ip = "[" + socket.inet_ntop(socket.AF_INET6, raw) + "]"
    return f"{ip}:{int(port, 16)}"


def tcp_connections():
    """This process's established TCP connections: sorted [local, remote] pairs."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/self/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # st 01 is ESTABLISHED; column 9 is the socket's inode.
            if len(cols) > 9 and cols[3] == "01" and cols[9] in inodes:
                found.add((_addr(cols[1]), _addr(cols[2])))
    return [list(c) for c in sorted(found)]


def main():
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    host = socket.gethostname().split(".")[0]
    print(f"rank {rank} of {size} on {host}", flush=True)

    expected = size * (size + 1) // 2
    total = comm.allreduce(rank + 1, op=MPI.SUM)
    vector = array("d", [0.0]) * VECTOR
    comm.Allreduce(array("d", [float(rank + 1)]) * VECTOR, vector, op=MPI.SUM)
    ok = total == expected and all(v == expected for v in vector)

    remote = [c for c in tcp_connections() if not c[1].startswith(("127.", "[::1]"))]
    ranks = comm.gather({"rank": rank, "host": host, "ok": ok, "connections": remote}, root=0)
    if rank == 0:
        summary = {"size": size, "allreduce": total, "expected": expected,
                   "ok": all(r["ok"] for r in ranks), "ranks": ranks}
        print(json.dumps(summary, sort_keys=True), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
PY
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
