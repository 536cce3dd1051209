#!/usr/bin/env bash
# @description the node's clock is within a few seconds of the runner's (so of every other node's and the controller's)
# @nodes all
# @timeout 30
set -euo pipefail

# PHAROS_HOST_EPOCH_MS is the runner's clock when it launched this check. The
# time SSH and bash took to start us makes the node look ahead, never behind,
# so "ahead" gets an allowance for that latency (slow under TCG).
max_ms=$(( ${PHAROS_MAX_CLOCK_SKEW_S:-5} * 1000 ))
launch_ms=$(( ${PHAROS_LAUNCH_ALLOWANCE_S:-5} * 1000 ))
now_ms=$(date +%s%3N)
skew=$(( now_ms - PHAROS_HOST_EPOCH_MS ))
echo "node clock: $(date -u +%FT%T.%3NZ), ${skew} ms ahead of the runner at launch (allowed: -${max_ms} .. +$((max_ms + launch_ms)) ms)"
if command -v chronyc >/dev/null 2>&1; then
  chronyc -n tracking 2>/dev/null | grep -E 'Reference ID|System time|Leap status' || true
fi
if (( skew < -max_ms || skew > max_ms + launch_ms )); then
  fail "clock of ${PHAROS_NODE} is off by ${skew} ms"
fi
echo "ok: clock within ${max_ms} ms"
