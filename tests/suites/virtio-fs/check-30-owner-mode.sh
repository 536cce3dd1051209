#!/usr/bin/env bash
# @description the root of each virtio-fs mount has the configured owner, group and mode
# @nodes all
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_NODE_VIRTIOFS:-} ]] || skip "no virtio-fs mounts on ${PHAROS_NODE}"
read -r -a mounts <<<"$PHAROS_NODE_VIRTIOFS"
checked=0
for m in "${mounts[@]}"; do
  IFS=: read -r _tag _access owner group mode mp <<<"$m"
  read -r uname uid gname gid perm < <(stat -c '%U %u %G %g %a' "$mp")
  if [[ $owner != - ]]; then
    [[ $owner == "$uname" || $owner == "$uid" ]] || fail "${mp} on ${PHAROS_NODE} is owned by ${uname} (${uid}), expected ${owner}"
    checked=$((checked + 1))
  fi
  if [[ $group != - ]]; then
    [[ $group == "$gname" || $group == "$gid" ]] || fail "${mp} on ${PHAROS_NODE} has group ${gname} (${gid}), expected ${group}"
    checked=$((checked + 1))
  fi
  if [[ $mode != - ]]; then
    # stat %a has no leading zero; the config's mode has one (0755).
    ((8#$perm == 8#$mode)) || fail "${mp} on ${PHAROS_NODE} has mode ${perm}, expected ${mode}"
    checked=$((checked + 1))
  fi
  echo "ok: ${mp} is ${uname}:${gname} ${perm}"
done
((checked > 0)) || skip "no owner, group or mode configured for the virtio-fs mounts of ${PHAROS_NODE}"
echo "ok: owner/group/mode as configured on ${PHAROS_NODE}"
