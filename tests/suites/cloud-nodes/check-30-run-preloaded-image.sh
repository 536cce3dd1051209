#!/usr/bin/env bash
# @description containerd (the kubelet's k8s.io namespace) holds the image Pharos built offline, at its digest, and runs it (ctr: crictl is not in Debian)
# @nodes all
# @cluster cloud
# @deploys cloud-node
# @timeout 180
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no image in kubernetes_config.preload_images"
line=$(ctr -n k8s.io images ls "name==${PHAROS_CONTAINER_REF}" | awk -v r="$PHAROS_CONTAINER_REF" '$1 == r')
[[ -n $line ]] || fail "containerd on ${PHAROS_NODE} has no ${PHAROS_CONTAINER_REF}"
digest=$(awk '{print $3}' <<<"$line")
[[ $digest == "$PHAROS_CONTAINER_DIGEST" ]] || fail "${PHAROS_CONTAINER_REF} is ${digest} on ${PHAROS_NODE}, Pharos built ${PHAROS_CONTAINER_DIGEST}"
name="pharos-check-${PHAROS_RUN_ID:-0}-$$"
# shellcheck disable=SC2016 # expanded inside the container
out=$(ctr -n k8s.io run --rm "$PHAROS_CONTAINER_REF" "$name" /bin/sh -c 'echo "in-container $(id -u) $(cat /etc/debian_version)"') ||
  fail "ctr run of ${PHAROS_CONTAINER_REF} failed on ${PHAROS_NODE}: ${out}"
grep -q '^in-container 0 12' <<<"$out" || fail "unexpected output from the container: ${out}"
echo "ok: ${PHAROS_CONTAINER_REF} (${digest:7:12}) ran on ${PHAROS_NODE}: ${out}"
