#!/usr/bin/env bash
# @description a rw virtio-fs mount is written and read back; a ro one refuses a write (EROFS)
# @nodes all
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_NODE_VIRTIOFS:-} ]] || skip "no virtio-fs mounts on ${PHAROS_NODE}"
read -r -a mounts <<<"$PHAROS_NODE_VIRTIOFS"
for m in "${mounts[@]}"; do
  IFS=: read -r tag access _owner _group _mode mp <<<"$m"
  probe="${mp}/.pharos-virtiofs-${PHAROS_NODE}-${PHAROS_RUN_ID:-$$}"
  if [[ $access == rw ]]; then
    want="pharos ${PHAROS_NODE} ${tag} ${RANDOM}${RANDOM}"
    printf '%s\n' "$want" >"$probe" || fail "cannot write ${probe} on ${PHAROS_NODE}"
    sync "$probe"
    got=$(cat "$probe")
    rm -f "$probe"
    [[ $got == "$want" ]] || fail "${probe} read back '${got}', wrote '${want}'"
    [[ ! -e $probe ]] || fail "${probe} is still there after rm"
    echo "ok: ${mp} (rw) written, read back and removed"
  else
    if err=$(: 2>&1 >"$probe"); then
      rm -f "$probe"
      fail "${mp} is configured read-only but ${PHAROS_NODE} could write ${probe}"
    fi
    [[ $err == *"Read-only file system"* ]] || fail "writing to ${mp} failed, but not with EROFS: ${err}"
    echo "ok: ${mp} (ro) refuses a write: ${err##*: }"
  fi
done
echo "ok: ${#mounts[@]} virtio-fs mount(s) behave as configured on ${PHAROS_NODE}"
