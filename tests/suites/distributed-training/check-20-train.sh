#!/usr/bin/env bash
# @description train.sbatch as the first user: DDP on two compute nodes (--gres=gpu:1 each) in the container; loss falls 10x, both ranks end with the same weights, a checkpoint in the user's home
# @nodes controller
# @timeout 17m
# @file examples/training/train_ddp.py
# @file examples/training/train.sbatch
set -euo pipefail

# Relies on: the suite runner copying each `@file` above into the directory
# $PHAROS_CHECK_FILES on this node (by base name); check-10's bundle in the
# user's home (examples/training/train.sbatch's default place); and
# PHAROS_CONTAINER_REF (empty: no container image, the suite skips).
# The job's log and checkpoint stay in the user's home for a look afterwards
# (~/pharos-training/train-<job>.out, ~/checkpoints/pharos-train/); the next
# run replaces them.
MIN_FACTOR=10 # train_ddp.py's defaults (seed 1234, 15 epochs) give about 28

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster"
((${PHAROS_COMPUTE_COUNT:-0} >= 2)) || skip "only ${PHAROS_COMPUTE_COUNT:-0} compute node(s): two-node training needs two"
[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users): the training job runs as a user from a shared home"
gpu_nodes=$(gpus_per_node | awk '$2 >= 1' | wc -l)
((gpu_nodes >= 2)) || skip "${gpu_nodes} node(s) with a GPU: the job asks --gres=gpu:1 on each of two"
user=$(first_user)
home=$(getent passwd "$user" | cut -d: -f6)
bundle="${home}/containers/pytorch"
[[ -f ${bundle}/config.json ]] || fail "no OCI bundle at ${bundle} (check-10 makes it)"
work="${home}/pharos-training"
ckpt="${home}/checkpoints/pharos-train"

# The example, as the repository has it, into the user's home.
# Everything in the home is done as the user (a root-squashed home would
# refuse root), the files fed through stdin.
as_user "$user" "mkdir -p ${work} && rm -f ${work}/train-*.out && rm -rf ${ckpt}"
for f in train_ddp.py train.sbatch; do
  [[ -f ${PHAROS_CHECK_FILES:-}/${f} ]] || fail "${f} is not in PHAROS_CHECK_FILES (${PHAROS_CHECK_FILES:-unset}): the runner copies @file examples/training/${f} there"
  as_user "$user" "umask 022; cat > ${work}/${f}" <"${PHAROS_CHECK_FILES}/${f}"
done

job=$(as_user "$user" "cd ${work} && PHAROS_CONTAINER_BUNDLE=${bundle} sbatch --parsable -p ${PHAROS_PARTITION:-debug} -J pharos-train train.sbatch")
job=${job%%;*}
echo "submitted job ${job} as ${user}: train.sbatch (2 nodes, --gres=gpu:1 each) in ${bundle}"
started=$SECONDS
wait_job "$job" 900
state=$(job_state "$job")
log="${work}/train-${job}.out"
wait_for "the job's log ${log}" 30 test -s "$log" || fail "job ${job} left no log in ${work}"
cat "$log"
[[ $state == COMPLETED || $state == GONE ]] || fail "job ${job} ended ${state}"
echo "job ${job} ended ${state} after about $((SECONDS - started)) s"

# Two ranks, on two different compute nodes.
mapfile -t nodes < <(grep -oP '^start rank=[01] .*\bnode=\K\S+' "$log" | sort -u)
((${#nodes[@]} == 2)) || fail "the ranks ran on '${nodes[*]}', expected two different nodes"
for n in "${nodes[@]}"; do
  slurm_nodes | grep -qx "$n" || fail "rank ran on '${n}', not a node of partition ${PHAROS_PARTITION:-debug}"
done
notes=$(grep -cP '^note: CUDA_VISIBLE_DEVICES=\d+ set by Slurm \(emulated GPU\); computing on the CPU' "$log" || true)
((notes == 2)) || fail "${notes} rank(s) logged the CUDA_VISIBLE_DEVICES note, expected 2"

# Both ranks: all epochs, the same digest, the loss fell by MIN_FACTOR.
mapfile -t results < <(grep '^result ' "$log")
((${#results[@]} == 2)) || fail "${#results[@]} result line(s), expected one per rank"
digests=$(printf '%s\n' "${results[@]}" | grep -oP 'weights_sha256=\K[0-9a-f]{64}' | sort -u)
[[ $(wc -l <<<"$digests") == 1 && -n $digests ]] || fail "the ranks' weights differ: ${digests//$'\n'/ }"
r0=$(grep '^result rank=0 ' <<<"$(printf '%s\n' "${results[@]}")") || fail "no result line of rank 0"
epoch=$(grep -oP '\bepoch=\K\d+' <<<"$r0")
epochs=$(grep -oP '\bepochs=\K\d+' <<<"$r0")
[[ $epoch == "$epochs" ]] || fail "rank 0 stopped at epoch ${epoch} of ${epochs}"
first=$(grep -oP 'loss_first=\K\S+' <<<"$r0")
last=$(grep -oP 'loss_last=\K\S+' <<<"$r0")
factor=$(grep -oP 'factor=\K\S+' <<<"$r0")
awk -v f="$first" -v l="$last" -v min="$MIN_FACTOR" 'BEGIN { exit !(l > 0 && f / l >= min) }' ||
  fail "the loss fell from ${first} to ${last} (factor ${factor}), expected a factor of at least ${MIN_FACTOR}"

# The checkpoint: in the user's home, theirs, of the last epoch.
[[ -s ${ckpt}/checkpoint.pt ]] || fail "no checkpoint at ${ckpt}/checkpoint.pt"
[[ $(stat -c %U "${ckpt}/checkpoint.pt") == "$user" ]] || fail "${ckpt}/checkpoint.pt belongs to $(stat -c %U "${ckpt}/checkpoint.pt"), not ${user}"
grep -q "^checkpoint epoch=${epochs} path=${ckpt}/checkpoint.pt " "$log" || fail "rank 0 did not log the checkpoint of epoch ${epochs} at ${ckpt}"
export_var PHAROS_TRAIN_DIGEST "$digests"
export_var PHAROS_TRAIN_EPOCHS "$epochs"
echo "ok: job ${job} on ${nodes[*]}: loss ${first} -> ${last} (factor ${factor} >= ${MIN_FACTOR}) in ${epochs} epochs, identical weights (sha256 ${digests:0:12}), checkpoint in ${ckpt}"
