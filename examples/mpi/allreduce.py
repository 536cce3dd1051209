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
