#!/usr/bin/env bash
# @description srun --container (Slurm's OCI support) runs a step in the image as the user: PyTorch from the image, not the node's root filesystem, the job's cgroup and memory limit
# @nodes controller
# @timeout 600
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster's registry"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users configured: bundles belong to a user"
who=$(first_user)
uid=$(id -u "$who")
bundle="${PHAROS_HOME_ROOT:-/shared/home}/${who}/containers/pytorch"
[[ -f ${bundle}/config.json ]] || fail "no bundle at ${bundle} (check 30 makes it)"
# Inside: who we are, whether torch imports (the VM image has no PyTorch),
# whether the host's slurm.conf is absent (a different root filesystem), the
# memory limit of the cgroup we run in.
# shellcheck disable=SC2016 # expanded inside the container
probe='import json, os, sys
import torch
cg = open("/proc/self/cgroup").read().split("::")[-1].strip()
limit = None
p = cg
while p and p != "/":
    try:
        v = open("/sys/fs/cgroup" + p + "/memory.max").read().strip()
    except OSError:
        v = "max"
    if v != "max":
        limit = int(v)
        break
    p = os.path.dirname(p)
# GPU device files: /dev/nvidiaN (passed through), /dev/pharos-gpuN (emulated).
gpus = sorted(d for d in os.listdir("/dev") if d.rstrip("0123456789") in ("nvidia", "pharos-gpu") and d[-1].isdigit())
print(json.dumps({"uid": os.getuid(), "torch": torch.__version__, "slurm_conf": os.path.exists("/etc/slurm/slurm.conf"),
  "cgroup": cg, "mem_limit": limit, "cvd": os.environ.get("CUDA_VISIBLE_DEVICES"), "dev_gpus": gpus,
  "job": os.environ.get("SLURM_JOB_ID")}))'
cmd="timeout 500 srun -p ${PHAROS_PARTITION:-debug} -N1 -n1 --mem=512M -t 8 -J pharos-container --container=${bundle} python3 -c $(printf '%q' "$probe")"
out=$(as_user "$who" "$cmd" 2>&1) || {
  echo "$out"
  fail "the container step as ${who} failed"
}
echo "$out"
line=$(grep -m1 '^{' <<<"$out") || fail "the container printed no JSON"
python3 - "$line" "$uid" <<'PY' || fail "the container step saw the wrong things (above)"
import json, sys
s = json.loads(sys.argv[1]); uid = int(sys.argv[2])
bad = []
if s["uid"] != uid:
    bad.append(f"ran as uid {s['uid']}, expected {uid}")
if s["slurm_conf"]:
    bad.append("the host's /etc/slurm/slurm.conf is visible: not the image's root filesystem")
if s["mem_limit"] != 512 * 1024 * 1024:
    bad.append(f"memory limit {s['mem_limit']} in cgroup {s['cgroup']}, expected the job's 512M")
if "job_" not in s["cgroup"]:
    bad.append(f"cgroup {s['cgroup']} is not the job's")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
echo "ok: torch $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["torch"])' "$line") in the image, as ${who}, in the job's cgroup with its 512M limit"
