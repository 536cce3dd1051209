#!/usr/bin/env bash
# @description each compute node sees the file the user wrote in their home on the controller
# @nodes each-compute
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users)"
[[ -n ${PHAROS_HOME_TOKEN:-} ]] || fail "no token from the home-write check"
user=$(first_user)
file="${PHAROS_HOME_ROOT}/${user}/.pharos-home-check"
got=$(as_user "$user" "cat ~/.pharos-home-check") || fail "${user} cannot read ${file} on ${PHAROS_NODE}"
[[ $got == "$PHAROS_HOME_TOKEN" ]] || fail "${file} on ${PHAROS_NODE} holds '${got}', the controller wrote '${PHAROS_HOME_TOKEN}'"
echo "ok: ${PHAROS_NODE} reads ${user}'s home as written on the controller"
