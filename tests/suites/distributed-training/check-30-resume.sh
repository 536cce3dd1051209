#!/usr/bin/env bash
# @description an interrupted training job (--stop-after 5) resubmitted resumes from its checkpoint at epoch 5, finishes, and ends with the uninterrupted run's weights
# @nodes controller
# @timeout 32m
# @file examples/training/train_ddp.py
# @file examples/training/train.sbatch
set -euo pipefail

# Relies on what check-20 relies on (@file copies in $PHAROS_CHECK_FILES,
# check-10's bundle, PHAROS_CONTAINER_REF), and on check-20's digest of the
# uninterrupted run (PHAROS_TRAIN_DIGEST, PHAROS_TRAIN_EPOCHS): the same seed
# gives bit-identical weights whether the run was interrupted or not (Adam's
# state is in the checkpoint; the shards follow the epoch). Without them the
# digest comparison is left out and the rest still runs.
STOP=5

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
ckpt="${home}/checkpoints/pharos-train-resume"
epochs=${PHAROS_TRAIN_EPOCHS:-15}

# Everything in the home is done as the user (a root-squashed home would
# refuse root), the files fed through stdin.
as_user "$user" "mkdir -p ${work} && rm -rf ${ckpt}"
for f in train_ddp.py train.sbatch; do
  [[ -f ${PHAROS_CHECK_FILES:-}/${f} ]] || fail "${f} is not in PHAROS_CHECK_FILES (${PHAROS_CHECK_FILES:-unset}): the runner copies @file examples/training/${f} there"
  as_user "$user" "umask 022; cat > ${work}/${f}" <"${PHAROS_CHECK_FILES}/${f}"
done

# run_job ARGS...: submits train.sbatch (job name pharos-train-resume, so
# both runs share ~/checkpoints/pharos-train-resume), waits for it, shows its
# log and leaves the log's path in $log (no subshell: a fail ends the check).
log=""
run_job() {
  local job state
  job=$(as_user "$user" "cd ${work} && PHAROS_CONTAINER_BUNDLE=${bundle} sbatch --parsable -p ${PHAROS_PARTITION:-debug} -J pharos-train-resume train.sbatch --epochs ${epochs} $*")
  job=${job%%;*}
  echo "submitted job ${job} as ${user}: train.sbatch --epochs ${epochs} $*"
  wait_job "$job" 900
  state=$(job_state "$job")
  log="${work}/train-${job}.out"
  wait_for "the job's log ${log}" 30 test -s "$log" || fail "job ${job} left no log in ${work}"
  cat "$log"
  [[ $state == COMPLETED || $state == GONE ]] || fail "job ${job} ended ${state}"
}

# The first run stops after STOP epochs, as if the job had been cut short.
run_job --stop-after "$STOP"
log1=$log
stops=$(grep -c "^stopped after ${STOP} epoch(s) this run (--stop-after ${STOP}) at epoch=${STOP} of ${epochs}" "$log1" || true)
((stops == 2)) || fail "${stops} rank(s) stopped at epoch ${STOP}, expected 2"
grep -q "^checkpoint epoch=${STOP} path=${ckpt}/checkpoint.pt " "$log1" || fail "the first run did not checkpoint epoch ${STOP} in ${ckpt}"
! grep -q '^resumed from' "$log1" || fail "the first run resumed from a checkpoint: ${ckpt} was not fresh"

# The resubmitted job picks it up and trains the rest.
run_job
log2=$log
resumed=$(grep -c "^resumed from epoch=${STOP} checkpoint=${ckpt}/checkpoint.pt " "$log2" || true)
((resumed == 2)) || fail "${resumed} rank(s) logged 'resumed from epoch=${STOP}', expected 2"
first_epoch=$(grep -m1 -oP '^epoch=\K\d+' "$log2")
((first_epoch == STOP + 1)) || fail "the resumed run's first epoch is ${first_epoch}, expected $((STOP + 1))"
mapfile -t results < <(grep "^result rank=[01] epoch=${epochs} epochs=${epochs} " "$log2")
((${#results[@]} == 2)) || fail "${#results[@]} rank(s) finished epoch ${epochs}, expected 2"
digests=$(printf '%s\n' "${results[@]}" | grep -oP 'weights_sha256=\K[0-9a-f]{64}' | sort -u)
[[ $(wc -l <<<"$digests") == 1 && -n $digests ]] || fail "the ranks' weights differ after the resume: ${digests//$'\n'/ }"
factor=$(grep -oP 'factor=\K\S+' <<<"${results[0]}")
grep -q "^checkpoint epoch=${epochs} path=${ckpt}/checkpoint.pt " "$log2" || fail "the resumed run did not checkpoint epoch ${epochs}"
same=""
if [[ -n ${PHAROS_TRAIN_DIGEST:-} ]]; then
  [[ $digests == "$PHAROS_TRAIN_DIGEST" ]] ||
    fail "interrupted and resumed, the weights (sha256 ${digests}) differ from the uninterrupted run's (${PHAROS_TRAIN_DIGEST})"
  same=", the same weights as the uninterrupted run"
fi
echo "ok: stopped at epoch ${STOP}, resumed from it and finished ${epochs} epochs (factor ${factor})${same} (sha256 ${digests:0:12})"
