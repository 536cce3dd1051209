#!/usr/bin/env bash
# @description every node's name resolves to its cluster IP and its sshd answers by that name over the cluster network; chrony follows the control plane
# @nodes all
# @cluster cloud
# @deploys cloud-node
# @timeout 120
set -euo pipefail

read -r -a names <<<"$PHAROS_NODES"
read -r -a ips <<<"$PHAROS_NODE_IPS"
for i in "${!names[@]}"; do
  n=${names[$i]}
  got=$(getent hosts "$n" | awk '{print $1}' | head -n1)
  [[ $got == "${ips[$i]}" ]] || fail "${n} resolves to '${got}', not ${ips[$i]}"
  [[ $n == "$PHAROS_NODE" ]] && continue
  # A TCP connection to the peer's sshd by name (the images have no ping).
  # shellcheck disable=SC2016 # $1 is the inner shell's
  wait_for "${n}:22 by name" 60 timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "$n" || fail "${PHAROS_NODE} cannot reach ${n} (${ips[$i]}) on the cluster network"
done
echo "ok: ${#names[@]} names resolve and answer"
if [[ $PHAROS_NODE == "$PHAROS_CONTROLLER" ]]; then
  chronyc -n tracking | grep -q 'Stratum' || fail "chrony is not tracking"
  echo "ok: the control plane serves time ($(chronyc -n tracking | awk -F': ' '/^Stratum/ {print "stratum " $2}'))"
else
  wait_for "chrony to select ${PHAROS_CONTROLLER_IP}" 90 bash -c "chronyc -n sources | grep -q '^\^\*.*${PHAROS_CONTROLLER_IP}'" ||
    fail "chrony on ${PHAROS_NODE} does not follow the control plane: $(chronyc -n sources | tail -n +3 | tr '\n' ' ')"
  echo "ok: chrony follows ${PHAROS_CONTROLLER} (${PHAROS_CONTROLLER_IP})"
fi
