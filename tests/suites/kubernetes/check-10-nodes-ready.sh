#!/usr/bin/env bash
# @description every node is Ready in Kubernetes, workers carry the worker role and GPU workers the GPU label (needs the vendor packages: skipped where Kubernetes is not installed)
# @nodes controller
# @cluster cloud
# @timeout 300
set -euo pipefail

if [[ ! -f /etc/kubernetes/admin.conf ]] || ! command -v kubectl >/dev/null; then
  skip "Kubernetes is not installed (deploy:kubernetes needs the vendor package repository)"
fi
export KUBECONFIG=/etc/kubernetes/admin.conf
read -r -a domains <<<"$PHAROS_NODE_DOMAINS"
for d in "${domains[@]}"; do
  wait_for "node ${d} Ready" 240 bash -c "kubectl get node '${d}' -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True" ||
    fail "node ${d} is not Ready: $(kubectl get node "$d" --no-headers 2>&1)"
done
for n in $PHAROS_COMPUTE_NODES; do
  d=$(kubectl get nodes -o name | grep -- "-${n}\$" | head -n1)
  kubectl get "$d" --show-labels --no-headers | grep -q 'node-role.kubernetes.io/worker' || fail "${d} has no worker role label"
done
echo "ok: ${#domains[@]} nodes Ready; workers labelled"
