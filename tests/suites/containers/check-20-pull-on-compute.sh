#!/usr/bin/env bash
# @description a compute node pulls the image from the controller's registry, every blob checked against its digest
# @nodes compute
# @timeout 600
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster's registry"
want=${PHAROS_CONTAINER_REF##*@}
dir=$(mktemp -d /var/tmp/pharos-pull.XXXXXX)
trap 'rm -rf "$dir"' EXIT
start=$(date +%s)
# skopeo verifies each blob's digest as it copies; --preserve-digests refuses
# any change to the manifest.
skopeo copy --quiet --preserve-digests "docker://${PHAROS_CONTAINER_REF}" "oci:${dir}:pulled" ||
  fail "${PHAROS_NODE} could not pull ${PHAROS_CONTAINER_REF}"
got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "${dir}/index.json")
[[ $got == "$want" ]] || fail "pulled manifest ${got}, expected ${want}"
bytes=$(du -sb "${dir}/blobs" | cut -f1)
echo "ok: ${PHAROS_NODE} pulled ${want} (${bytes} bytes of blobs) in $(($(date +%s) - start)) s"
