#!/usr/bin/env bash
# @description munged runs on every node and decodes its own credential
# @nodes all
# @timeout 60
set -euo pipefail

wait_for "the munge socket" 30 test -S /run/munge/munge.socket.2
if ! out=$(munge -n | unmunge 2>&1); then
  echo "$out"
  fail "munge -n | unmunge failed on ${PHAROS_NODE}"
fi
grep -E '^(STATUS|ENCODE_HOST)' <<<"$out"
key=/etc/munge/munge.key
[[ -f $key ]] || fail "no munge key at ${key}"
echo "munge key sha256: $(sha256sum "$key" | cut -c1-16)…"
