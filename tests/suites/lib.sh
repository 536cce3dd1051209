#!/usr/bin/env bash
# Helpers prepended to every check script by the suite runner (the checks are
# sent over SSH with `bash -s`, so nothing needs to be installed on the guest).
# Exit statuses: 0 pass, 77 skip (last line printed is the reason), else fail.

# Print a message and skip this check.
skip() {
  echo "$*"
  exit 77
}

# Print a message to stdout (so it is the last line the runner reports) and fail.
fail() {
  echo "FAIL: $*"
  exit 1
}

log() {
  echo "--- $*"
}

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...
# Re-runs COMMAND (quietly) with a growing pause (0.5 s doubling to 5 s) until
# it succeeds or the time is up; then prints what it waited for and returns 1.
# Callers print diagnostics and `fail` with a summary, so the summary is the
# last line (the one the runner shows).
wait_for() {
  local what=$1 timeout=$2
  shift 2
  local start=$SECONDS pause=0.5
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS - start >= timeout)); then
      echo "timed out after ${timeout}s waiting for ${what}"
      return 1
    fi
    sleep "$pause"
    case $pause in
      0.5) pause=1 ;;
      1) pause=2 ;;
      *) pause=5 ;;
    esac
  done
  echo "ok: ${what} (after $((SECONDS - start))s)"
}

# Whether services are managed by systemd here (a container may lack it).
have_systemd() {
  [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1
}

# wait_service NAME TIMEOUT: the unit is active (or, without systemd, the
# process runs); on timeout shows the unit's status and fails.
wait_service() {
  local name=$1 timeout=$2
  if have_systemd; then
    if ! wait_for "${name} to be active" "$timeout" systemctl is-active --quiet "$name"; then
      systemctl status "$name" --no-pager -l 2>&1 | tail -n 20 || true
      journalctl -u "$name" -n 20 --no-pager 2>/dev/null || true
      fail "${name} is not active on ${PHAROS_NODE:-$(hostname -s)}"
    fi
  elif ! wait_for "a ${name} process" "$timeout" pgrep -x "${name:0:15}"; then
    fail "no ${name} process on ${PHAROS_NODE:-$(hostname -s)}"
  fi
}

# Hand a value to later checks of this suite (the runner adds it to their env).
export_var() {
  printf '::export %s=%s\n' "$1" "$2"
}

# http_get URL: body on stdout; curl, else wget, else python3.
http_get() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 10 "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 10 -O - "$1"
  else
    python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' "$1"
  fi
}

# gpus_per_node: "NODE COUNT" per Slurm node, counted from its GRES (gpu:2,
# gpu:a100:2 or gpu:a100:2(S:0); several gpu entries add up).
gpus_per_node() {
  sinfo -h -N -o '%N %G' | sort -u | awk '
    { n = 0; split($2, parts, ",");
      for (i in parts) if (parts[i] ~ /^gpu:/) { g = parts[i]; sub(/\(.*/, "", g); k = split(g, f, ":"); n += f[k] + 0 }
      print $1, n }'
}

# node_with_gpus N: the first node with at least N GPUs (nothing when none has).
node_with_gpus() {
  gpus_per_node | awk -v want="$1" '$2 >= want { print $1; exit }'
}

# The Slurm node names of the compute partition, one per line.
slurm_nodes() {
  sinfo -h -N -p "${PHAROS_PARTITION:-debug}" -o '%N' | sort -u
}

# Where jobs may write results everyone can read: a fresh directory on shared
# storage, removed by the caller's trap.
shared_scratch() {
  local dir="${PHAROS_SHARED:-/shared}/.pharos-tests/${PHAROS_SUITE:-suite}-${PHAROS_CHECK:-check}-${PHAROS_RUN_ID:-$$}"
  mkdir -p "$dir" && chmod 1777 "$dir" && echo "$dir"
}

# job_state JOBID: the job's state as slurmctld tells it (GONE once it is
# purged after MinJobAge).
job_state() {
  scontrol show job "$1" 2>/dev/null | grep -oP 'JobState=\K\S+' || echo GONE
}

# job_over JOBID: the job has ended (any final state).
job_over() {
  [[ $(job_state "$1") =~ ^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED|GONE)$ ]]
}

# wait_job JOBID TIMEOUT: waits until the job has ended; on timeout shows it
# and fails.
wait_job() {
  if ! wait_for "job $1 to end" "$2" job_over "$1"; then
    scontrol show job "$1" || true
    fail "job $1 did not end within $2 s"
  fi
}

# sacct_record JOBID: "State|ExitCode|Elapsed|AllocTRES|User" of the job's
# allocation once slurmdbd has its final record (empty while it has not).
sacct_record() {
  sacct -n -P -X -j "$1" -o State,ExitCode,Elapsed,AllocTRES,User 2>/dev/null |
    awk -F'|' '$1 !~ /^(PENDING|RUNNING|REQUEUED|SUSPENDED)/ { print; exit }'
}

# has_sacct_record JOBID: slurmdbd has the job's final record.
has_sacct_record() {
  [[ -n $(sacct_record "$1") ]]
}

# wait_sacct JOBID TIMEOUT: prints the job's final accounting record.
wait_sacct() {
  local rec
  # Progress goes to stderr: callers read the record from stdout.
  if ! wait_for "job $1's record in sacct" "$2" has_sacct_record "$1" >&2; then
    sacct -j "$1" -o JobID,State,ExitCode,Elapsed,AllocTRES >&2 || true
    fail "slurmdbd has no final record of job $1 after $2 s"
  fi
  rec=$(sacct_record "$1")
  echo "$rec"
}

# The configured users as "name uid gid" lines (PHAROS_USERS is name:uid:gid ...).
user_lines() {
  local u
  for u in ${PHAROS_USERS:-}; do echo "${u//:/ }"; done
}

# first_user: the first configured user's name (empty when there is none:
# check `[[ -n ${PHAROS_USERS:-} ]] || skip ...` first).
first_user() {
  local u=${PHAROS_USERS:-}
  u=${u%% *}
  echo "${u%%:*}"
}

# as_user USER COMMAND: runs COMMAND with bash in USER's login environment
# (their home as the working directory), the way an SSH login would.
as_user() {
  local user=$1
  shift
  runuser -l "$user" -s /bin/bash -c "$*"
}
