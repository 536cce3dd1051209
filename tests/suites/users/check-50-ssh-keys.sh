#!/usr/bin/env bash
# @description sshd takes each user's keys from /etc/ssh/authorized_keys, and the cluster key (root's) is among them
# @nodes all
# @timeout 60
set -euo pipefail

[[ -n ${PHAROS_USERS:-} ]] || skip "no users in the config (clusters.hpc.users)"
# The key Pharos logs in with as root is the cluster key.
cluster_key=$(grep -v '^#' /root/.ssh/authorized_keys | awk 'NF >= 2 { print $1 " " $2; exit }')
[[ -n $cluster_key ]] || fail "root has no authorized key on ${PHAROS_NODE}"
n=0
while read -r name _ _; do
  files=$(sshd -T -C "user=${name},host=pharos-check,addr=127.0.0.1" | awk '$1 == "authorizedkeysfile" { $1 = ""; print }')
  [[ $files == *"/etc/ssh/authorized_keys/%u"* ]] || fail "sshd reads ${name}'s keys from '${files}', not /etc/ssh/authorized_keys/%u"
  keys="/etc/ssh/authorized_keys/${name}"
  [[ $(stat -c '%U %a' "$keys") == "root 644" ]] || fail "${keys} is $(stat -c '%U %a' "$keys"), expected root 644"
  grep -qF "$cluster_key" "$keys" || fail "the cluster key is not authorized for ${name} on ${PHAROS_NODE}"
  n=$((n + 1))
done < <(user_lines)
echo "ok: ${n} user(s) log in with the cluster key on ${PHAROS_NODE} (keys in /etc/ssh/authorized_keys)"
