#!/usr/bin/env bash
# @description srun -N2 runs one task on each of two nodes (distinct hostnames)
# @nodes controller
# @timeout 180
set -euo pipefail

((PHAROS_COMPUTE_COUNT >= 2)) || skip "only ${PHAROS_COMPUTE_COUNT} compute node(s): srun -N2 needs two"
out=$(timeout 150 srun -p "${PHAROS_PARTITION:-debug}" -N2 --ntasks-per-node=1 -t 2 -J pharos-srun hostname)
echo "$out"
distinct=$(sort -u <<<"$out" | grep -c .)
((distinct == 2)) || fail "srun -N2 printed ${distinct} distinct hostname(s), expected 2"
echo "ok: two nodes answered"
