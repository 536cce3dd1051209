#!/usr/bin/env bash
# @description the node owns its cluster IP and reaches every other node's (run on all nodes: both ways)
# @nodes all
# @timeout 90
set -euo pipefail

if ! ip -o -4 addr show | awk '{print $4}' | cut -d/ -f1 | grep -qxF "$PHAROS_NODE_IP"; then
  ip -o -4 addr show
  fail "${PHAROS_NODE} does not hold its cluster IP ${PHAROS_NODE_IP}"
fi
echo "ok: ${PHAROS_NODE} holds ${PHAROS_NODE_IP}"

read -r -a names <<<"$PHAROS_NODES"
read -r -a ips <<<"$PHAROS_NODE_IPS"
bad=()
for i in "${!ips[@]}"; do
  peer=${ips[$i]}
  [[ $peer == "$PHAROS_NODE_IP" ]] && continue
  if command -v ping >/dev/null 2>&1; then
    # A few tries: a freshly booted peer may still be settling its ARP entry.
    if ping -c 3 -W 3 "$peer" >/dev/null 2>&1; then
      echo "ok: ping ${names[$i]} (${peer})"
      continue
    fi
  fi
  # No ping (or ICMP filtered): a TCP connection to the peer's sshd also proves the path.
  # shellcheck disable=SC2016 # $1 expands in the inner bash, on purpose
  if timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/22"' _ "$peer" 2>/dev/null; then
    echo "ok: tcp ${names[$i]} (${peer}:22)"
  else
    echo "unreachable: ${names[$i]} (${peer})"
    bad+=("${names[$i]}")
  fi
done
((${#bad[@]} == 0)) || fail "${PHAROS_NODE} cannot reach ${bad[*]} on the cluster network"
