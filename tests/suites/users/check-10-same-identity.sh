#!/usr/bin/env bash
# @description every configured user has the same uid, gid, shell and shared home on every node
# @nodes all
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users)"
n=0
while read -r name uid gid; do
  entry=$(getent passwd "$name") || fail "user ${name} does not exist on ${PHAROS_NODE}"
  IFS=: read -r _ _ got_uid got_gid _ home _ <<<"$entry"
  [[ $got_uid == "$uid" ]] || fail "${name} has uid ${got_uid} on ${PHAROS_NODE}, the config says ${uid}"
  [[ $got_gid == "$gid" ]] || fail "${name} has gid ${got_gid} on ${PHAROS_NODE}, the config says ${gid}"
  [[ $home == "${PHAROS_HOME_ROOT}/${name}" ]] || fail "${name}'s home is ${home} on ${PHAROS_NODE}, expected ${PHAROS_HOME_ROOT}/${name}"
  [[ -d $home ]] || fail "${name}'s home ${home} is not visible on ${PHAROS_NODE}"
  [[ $(stat -c %u "$home") == "$uid" ]] || fail "${home} is owned by uid $(stat -c %u "$home") on ${PHAROS_NODE}, not ${uid}"
  n=$((n + 1))
done < <(user_lines)
echo "ok: ${n} user(s) with the configured uid/gid and home ${PHAROS_HOME_ROOT} on ${PHAROS_NODE}"
