#!/usr/bin/env bash
# @description Kubernetes' node prerequisites hold: overlay and br_netfilter loaded, bridge and forwarding sysctls 1, no swap, cgroup v2, containerd running runc on systemd cgroups
# @nodes all
# @cluster cloud
# @deploys cloud-node
# @timeout 60
set -euo pipefail

bad=()
for m in overlay br_netfilter; do
  grep -q "^${m} " /proc/modules || bad+=("module ${m} not loaded")
done
for k in net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables net.ipv4.ip_forward; do
  v=$(sysctl -n "$k" 2>/dev/null || echo missing)
  [[ $v == 1 ]] || bad+=("${k} = ${v}, not 1")
done
[[ -z $(swapon --noheadings --show 2>/dev/null) ]] || bad+=("swap is on: $(swapon --noheadings --show | tr '\n' ' ')")
[[ $(readlink -f /etc/systemd/system/swap.target 2>/dev/null) == /dev/null ]] || bad+=("swap.target is not masked")
fs=$(stat -fc %T /sys/fs/cgroup)
[[ $fs == cgroup2fs ]] || bad+=("/sys/fs/cgroup is ${fs}, not cgroup v2")
systemctl is-active --quiet containerd || bad+=("containerd is $(systemctl is-active containerd)")
containerd config dump 2>/dev/null | grep -qE '^\s*SystemdCgroup = true' || bad+=("containerd's runc does not use the systemd cgroup driver")
if ((${#bad[@]})); then
  printf '%s\n' "${bad[@]}"
  fail "${#bad[@]} prerequisite(s) missing on ${PHAROS_NODE}: ${bad[0]}"
fi
echo "ok: modules, sysctls, no swap, cgroup v2, containerd $(containerd --version | awk '{print $3}') with SystemdCgroup"
