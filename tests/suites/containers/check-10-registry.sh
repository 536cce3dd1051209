#!/usr/bin/env bash
# @description the registry on the controller serves the pushed image by its manifest digest
# @nodes controller
# @timeout 120
set -euo pipefail

[[ -n ${PHAROS_CONTAINER_REF:-} ]] || skip "no container image in this cluster's registry"
registry=${PHAROS_CONTAINER_REF%%/*}
# The registry listens on the cluster network only, over plain HTTP.
python3 - "http://${registry}/v2/" <<'PY' || fail "the registry at ${registry} does not answer /v2/"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=20) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
digest=$(skopeo inspect --format '{{.Digest}}' "docker://${PHAROS_CONTAINER_REF}") ||
  fail "skopeo cannot read ${PHAROS_CONTAINER_REF}"
[[ ${PHAROS_CONTAINER_REF} == *"@${digest}" ]] ||
  fail "the registry serves ${digest} for ${PHAROS_CONTAINER_REF}"
echo "ok: ${registry} serves ${PHAROS_CONTAINER_REF#*/} (${digest})"
