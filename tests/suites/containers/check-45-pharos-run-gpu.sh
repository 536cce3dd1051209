#!/usr/bin/env bash
# @description srun pharos-run runs each task in the image with the task's whole environment: its rank, its GPU (CUDA_VISIBLE_DEVICES and the device file), the job's memory limit
# @nodes controller
# @timeout 600
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster's registry"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users configured: bundles belong to a user"
((${PHAROS_TOTAL_GPUS:-0} > 0)) || skip "no GPUs configured in this cluster"
who=$(first_user)
bundle="${PHAROS_HOME_ROOT:-/shared/home}/${who}/containers/pytorch"
[[ -f ${bundle}/config.json ]] || fail "no bundle at ${bundle} (check 30 makes it)"
# shellcheck disable=SC2016 # expanded inside the container
probe='import json, os
cg = open("/proc/self/cgroup").read().split("::")[-1].strip()
limit, p = None, cg
while p and p != "/" and limit is None:
    try:
        v = open("/sys/fs/cgroup" + p + "/memory.max").read().strip()
        limit = None if v == "max" else int(v)
    except OSError:
        pass
    p = os.path.dirname(p)
gpus = sorted(d for d in os.listdir("/dev") if d.rstrip("0123456789") in ("nvidia", "pharos-gpu") and d[-1].isdigit())
print(json.dumps({"rank": os.environ.get("SLURM_PROCID"), "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"),
  "dev_gpus": gpus, "mem_limit": limit, "torch": os.path.exists("/usr/lib/python3/dist-packages/torch")}))'
cmd="timeout 500 srun -p ${PHAROS_PARTITION:-debug} -N1 -n1 --mem=512M --gres=gpu:1 -t 8 -J pharos-run pharos-run ${bundle} python3 -c $(printf '%q' "$probe")"
out=$(as_user "$who" "$cmd" 2>&1) || {
  echo "$out"
  fail "the pharos-run step as ${who} failed"
}
echo "$out"
line=$(grep -m1 '^{' <<<"$out") || fail "the container printed no JSON"
python3 - "$line" <<'PY' || fail "the task saw the wrong things in the container (above)"
import json, sys
s = json.loads(sys.argv[1])
bad = []
if s["rank"] != "0":
    bad.append(f"SLURM_PROCID={s['rank']}, expected 0")
if not (s["cvd"] or "").isdigit():
    bad.append(f"CUDA_VISIBLE_DEVICES={s['cvd']}, expected one device index")
if not s["dev_gpus"]:
    bad.append("no GPU device file (/dev/nvidiaN, /dev/pharos-gpuN) in the container")
if s["mem_limit"] != 512 * 1024 * 1024:
    bad.append(f"memory limit {s['mem_limit']}, expected the job's 512M")
if not s["torch"]:
    bad.append("no PyTorch: not the image's root filesystem")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
echo "ok: the task in the container has SLURM_PROCID, CUDA_VISIBLE_DEVICES=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cvd"])' "$line") with its device file, and the 512M limit"
