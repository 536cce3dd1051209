#!/usr/bin/env bash
# @description every virtio-fs mount of the node is mounted, of type virtiofs, from its tag
# @nodes all
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_NODE_VIRTIOFS:-} ]] || skip "no virtio-fs mounts on ${PHAROS_NODE}"
read -r -a mounts <<<"$PHAROS_NODE_VIRTIOFS"
for m in "${mounts[@]}"; do
  IFS=: read -r tag access _owner _group _mode mp <<<"$m"
  fstype=$(findmnt -n -o FSTYPE --mountpoint "$mp" || true)
  source=$(findmnt -n -o SOURCE --mountpoint "$mp" || true)
  if [[ $fstype != virtiofs ]]; then
    systemctl status "$(systemd-escape -p --suffix=mount "$mp")" --no-pager -l 2>&1 | tail -n 15 || true
    fail "${mp} on ${PHAROS_NODE} is ${fstype:-not mounted}, not virtiofs (tag ${tag})"
  fi
  [[ $source == "$tag" ]] || fail "${mp} on ${PHAROS_NODE} is mounted from ${source}, not tag ${tag}"
  opts=$(findmnt -n -o OPTIONS --mountpoint "$mp")
  [[ ,${opts}, == *,${access},* ]] || fail "${mp} on ${PHAROS_NODE} is mounted ${opts}, expected ${access}"
  echo "ok: ${mp} is virtiofs from tag ${tag} (${opts})"
done
echo "ok: ${#mounts[@]} virtio-fs mount(s) on ${PHAROS_NODE}"
