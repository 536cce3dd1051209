#!/usr/bin/env bash
# @description a user writes a file in their home on the controller (as themselves, not root)
# @nodes controller
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users)"
user=$(first_user)
token="pharos-${PHAROS_RUN_ID:-$$}-$RANDOM"
as_user "$user" "umask 022; echo '${token}' > ~/.pharos-home-check"
file="${PHAROS_HOME_ROOT}/${user}/.pharos-home-check"
[[ $(stat -c %U "$file") == "$user" ]] || fail "${file} is owned by $(stat -c %U "$file"), not ${user}"
export_var PHAROS_HOME_TOKEN "$token"
echo "ok: ${user} wrote ${file} on ${PHAROS_NODE}"
