#!/usr/bin/env python3
"""Data-parallel training with PyTorch DDP over gloo on the CPU, one rank per Slurm task.

A small MLP (the student) learns a fixed random teacher network from synthetic
data made deterministically from --seed (nothing is downloaded). Each rank
trains on its own shard (DistributedSampler); DDP averages the gradients, so
every rank ends with the same weights.

Launch it with srun from a batch script (train.sbatch) that sets MASTER_ADDR
(the first node of the job) and MASTER_PORT; the rank, world size and local
rank come from Slurm (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID). Without
Slurm, start one process per rank with those variables set by hand:

    SLURM_PROCID=0 SLURM_NTASKS=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 python3 train_ddp.py &
    SLURM_PROCID=1 SLURM_NTASKS=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29500 python3 train_ddp.py

Output, one machine-readable line each (key=value, space-separated):
    start rank=R world=W local_rank=L node=N host=H pid=P threads=T seed=S epochs=E torch=V
    note: CUDA_VISIBLE_DEVICES=0 set by Slurm (emulated GPU); computing on the CPU (...)
    gloo rank=R interface=IFACE master=ADDR:PORT   (GLOO_SOCKET_IFNAME: given, or the route to MASTER_ADDR)
    ready rank=R master=ADDR:PORT seconds=Z         (the ranks met, Z s after start)
    resumed from epoch=N checkpoint=PATH rank=R     (when a checkpoint exists)
    epoch=N loss=X eval_loss=Y rank=R seconds=Z     (every epoch; loss: the mean training
                                                     loss over all ranks' batches)
    checkpoint epoch=N path=PATH rank=0             (rank 0, after every epoch)
    result rank=R epoch=N epochs=E loss_first=X loss_last=Y factor=F eval_loss=Z weights_sha256=D seconds=Z
    stopped after K epoch(s) this run (--stop-after K) at epoch=N of E; run again to resume rank=R

node is SLURMD_NODENAME (a container may have a host name of its own); the
note says whether CUDA is there, and that the compute is the CPU either way.

loss_first is the loss of epoch 1 and loss_last that of the last epoch trained
(kept in the checkpoint, so a resumed run reports the whole run's numbers);
factor = loss_first / loss_last. weights_sha256 is the sha256 of the
parameters' bytes, concatenated in order, after training: it is the same on
every rank, and the same seed gives the same digest whether the run was
interrupted and resumed or not.

Rank 0 writes a checkpoint (model, optimizer, epoch, loss history) after every
epoch to --checkpoint-dir/checkpoint.pt, atomically (a temporary file in the
same directory, fsync, os.replace). On start, rank 0 reads it if it is there and
hands it to the other ranks, so only rank 0 needs to see the directory.

Exit status: 0 done (or stopped by --stop-after), 2 bad arguments or
environment, 3 the ranks could not meet (init_process_group timed out).
"""
import argparse
import datetime
import hashlib
import io
import os
import socket
import sys
import time

CHECKPOINT = "checkpoint.pt"


def fatal(message, code=2):
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def env_int(name, hint):
    value = os.environ.get(name)
    if value is None or value == "":
        fatal(f"{name} is not set: {hint}")
    try:
        return int(value)
    except ValueError:
        fatal(f"{name}={value!r} is not an integer: {hint}")


def parse_args(argv):
    job = os.environ.get("SLURM_JOB_NAME") or "train_ddp"
    default_dir = os.path.join(os.path.expanduser("~"), "checkpoints", job)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=15, help="epochs in all (default 15)")
    p.add_argument("--stop-after", type=int, default=0, metavar="N",
                   help="exit after N epochs in this run, as if interrupted (default 0: run to --epochs)")
    p.add_argument("--seed", type=int, default=1234, help="seed of the data, the teacher and the initial weights")
    p.add_argument("--checkpoint-dir", default=default_dir,
                   help="where rank 0 keeps checkpoint.pt (default $HOME/checkpoints/<job name>)")
    p.add_argument("--samples", type=int, default=4096, help="training samples in all ranks together (default 4096)")
    p.add_argument("--batch-size", type=int, default=64, help="per rank (default 64)")
    p.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate (default 0.01)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("SLURM_CPUS_PER_TASK") or 1),
                   help="torch threads per rank (default SLURM_CPUS_PER_TASK or 1)")
    p.add_argument("--init-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="how long the ranks wait for each other to start (default 300)")
    a = p.parse_args(argv)
    for name in ("epochs", "samples", "batch_size", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.stop_after < 0:
        p.error("--stop-after must be 0 (off) or more")
    if a.init_timeout <= 0:
        p.error("--init-timeout must be positive")
    return a


IN, HIDDEN, TEACHER_HIDDEN, NOISE, EVAL_SAMPLES = 16, 32, 8, 0.02, 1024


def make_data(torch, seed, samples):
    """(train_x, train_y, eval_x, eval_y): x ~ N(0, 1), y = teacher(x) + noise."""
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(IN, TEACHER_HIDDEN, generator=g) / IN ** 0.5
    b1 = torch.randn(TEACHER_HIDDEN, generator=g) * 0.1
    w2 = torch.randn(TEACHER_HIDDEN, 1, generator=g) / TEACHER_HIDDEN ** 0.5

    def teacher(x):
        return torch.tanh(x @ w1 + b1) @ w2

    x = torch.randn(samples + EVAL_SAMPLES, IN, generator=g)
    y = teacher(x) + NOISE * torch.randn(samples + EVAL_SAMPLES, 1, generator=g)
    return x[:samples], y[:samples], x[samples:], y[samples:]


def digest(model):
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def read_checkpoint(torch, path):
    """The checkpoint's bytes, or None when there is none."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    # Fail here, on rank 0, with the path, rather than later on every rank.
    try:
        torch.load(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same error
        fatal(f"checkpoint {path} cannot be read ({e}): remove it to start over")
    return data


def write_checkpoint(torch, directory, state):
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, CHECKPOINT)
    tmp = os.path.join(directory, f".{CHECKPOINT}.{socket.gethostname()}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return final


def gloo_interface(master_addr):
    """The network interface that reaches MASTER_ADDR (longest-prefix match in
    /proc/net/route), for GLOO_SOCKET_IFNAME: left to itself, gloo binds to the
    address its host name resolves to, which may be another NIC's (or loopback,
    in a container whose /etc/hosts lacks the node). None when unknown."""
    try:
        addr = socket.gethostbyname(master_addr)
    except OSError:
        return None
    if addr.startswith("127."):
        return "lo"
    target = int.from_bytes(socket.inet_aton(addr), "little")  # /proc/net/route is host order (little-endian)
    best, best_bits = None, -1
    try:
        with open("/proc/net/route") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return None
    for row in rows:
        cols = row.split()
        if len(cols) < 8:
            continue
        iface, dest, mask = cols[0], int(cols[1], 16), int(cols[7], 16)
        bits = bin(mask).count("1")
        if target & mask == dest and bits > best_bits:
            best, best_bits = iface, bits
    return best


def main(argv):
    t0 = time.monotonic()
    args = parse_args(argv)
    hint = "run under srun (train.sbatch), or set it by hand (see the top of this file)"
    rank = env_int("SLURM_PROCID", hint)
    world = env_int("SLURM_NTASKS", hint)
    local_rank = int(os.environ.get("SLURM_LOCALID") or 0)
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if not os.environ.get(name):
            fatal(f"{name} is not set: the batch script sets it (train.sbatch: the job's first node and a port)")
    env_int("MASTER_PORT", "a TCP port number")
    if not 0 <= rank < world:
        fatal(f"SLURM_PROCID={rank} is not below SLURM_NTASKS={world}")
    if rank == 0:
        try:
            os.makedirs(args.checkpoint_dir, exist_ok=True)
        except OSError as e:
            fatal(f"cannot make the checkpoint directory {args.checkpoint_dir}: {e.strerror} (--checkpoint-dir)")
        if not os.access(args.checkpoint_dir, os.W_OK | os.X_OK):
            fatal(f"the checkpoint directory {args.checkpoint_dir} is not writable (--checkpoint-dir)")

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    host = socket.gethostname().split(".")[0]
    node = os.environ.get("SLURMD_NODENAME") or "-"  # Slurm's name: a container may have its own host name
    print(f"start rank={rank} world={world} local_rank={local_rank} node={node} host={host} pid={os.getpid()} "
          f"threads={args.threads} seed={args.seed} epochs={args.epochs} torch={torch.__version__}", flush=True)
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
    if torch.cuda.is_available():
        print(f"note: CUDA is available ({torch.cuda.device_count()} device(s)); this example still computes "
              f"on the CPU (gloo)", flush=True)
    elif cvd is not None:
        print(f"note: CUDA_VISIBLE_DEVICES={cvd} set by Slurm (emulated GPU); computing on the CPU "
              f"(torch.cuda.is_available() is False)", flush=True)
    else:
        print("note: no CUDA_VISIBLE_DEVICES; computing on the CPU", flush=True)

    master = f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}"
    if not os.environ.get("GLOO_SOCKET_IFNAME"):
        iface = gloo_interface(os.environ["MASTER_ADDR"])
        if iface:
            os.environ["GLOO_SOCKET_IFNAME"] = iface
    print(f"gloo rank={rank} interface={os.environ.get('GLOO_SOCKET_IFNAME', 'default')} master={master}", flush=True)
    try:
        dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=args.init_timeout))
    except Exception as e:  # noqa: BLE001 - timeouts and refused connections alike
        fatal(f"rank {rank} of {world}: the ranks did not meet at {master} within {args.init_timeout:g} s "
              f"(are all {world} tasks running and is MASTER_ADDR the first node's address?): {e}", code=3)
    print(f"ready rank={rank} master={master} seconds={time.monotonic() - t0:.3f}", flush=True)

    # The same seed on every rank: the same data, teacher and initial weights.
    train_x, train_y, eval_x, eval_y = make_data(torch, args.seed, args.samples)
    torch.manual_seed(args.seed)
    model = torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.Tanh(),
                                torch.nn.Linear(HIDDEN, HIDDEN), torch.nn.Tanh(),
                                torch.nn.Linear(HIDDEN, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    path = os.path.join(args.checkpoint_dir, CHECKPOINT)
    blob = [read_checkpoint(torch, path) if rank == 0 else None]
    dist.broadcast_object_list(blob, src=0)
    start_epoch, history = 0, []
    if blob[0] is not None:
        state = torch.load(io.BytesIO(blob[0]))
        if state["seed"] != args.seed:
            fatal(f"checkpoint {path} is from a run with --seed {state['seed']}, this one has --seed {args.seed}: "
                  f"use that seed, another --checkpoint-dir, or remove it")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = state["epoch"], list(state["losses"])
        print(f"resumed from epoch={start_epoch} checkpoint={path} rank={rank}", flush=True)

    ddp = DistributedDataParallel(model)
    sampler = DistributedSampler(TensorDataset(train_x, train_y), num_replicas=world, rank=rank,
                                 shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size, sampler=sampler)
    loss_fn = torch.nn.MSELoss()

    trained = 0
    for epoch in range(start_epoch + 1, args.epochs + 1):
        if args.stop_after and trained >= args.stop_after:
            break
        began = time.monotonic()
        sampler.set_epoch(epoch)
        ddp.train()
        total = torch.zeros(2, dtype=torch.float64)  # loss sum, batches
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(ddp(x), y)
            loss.backward()
            optimizer.step()
            total += torch.tensor([loss.item(), 1.0], dtype=torch.float64)
        dist.all_reduce(total)
        mean = (total[0] / total[1]).item()
        history.append(mean)
        with torch.no_grad():
            eval_loss = loss_fn(model(eval_x), eval_y).item()
        print(f"epoch={epoch} loss={mean:.6f} eval_loss={eval_loss:.6f} rank={rank} "
              f"seconds={time.monotonic() - began:.3f}", flush=True)
        if rank == 0:
            try:
                saved = write_checkpoint(torch, args.checkpoint_dir, {
                    "epoch": epoch, "seed": args.seed, "losses": history, "world": world,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict()})
            except OSError as e:
                fatal(f"cannot write the checkpoint of epoch {epoch} to {args.checkpoint_dir}: {e}")
            print(f"checkpoint epoch={epoch} path={saved} rank={rank}", flush=True)
        trained += 1

    done = start_epoch + trained
    with torch.no_grad():
        eval_loss = loss_fn(model(eval_x), eval_y).item()
    if history:
        first, last = history[0], history[-1]
        print(f"result rank={rank} epoch={done} epochs={args.epochs} loss_first={first:.6f} loss_last={last:.6f} "
              f"factor={first / last:.2f} eval_loss={eval_loss:.6f} weights_sha256={digest(model)} "
              f"seconds={time.monotonic() - t0:.3f}", flush=True)
    if done < args.epochs:
        print(f"stopped after {trained} epoch(s) this run (--stop-after {args.stop_after}) at epoch={done} "
              f"of {args.epochs}; run again to resume rank={rank}", flush=True)
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
