#!/usr/bin/env bash
# @description Slurm's mpi/pmix plugin is listed and finds its PMIx library; on compute nodes OpenMPI is confined to the cluster network
# @nodes all
# @timeout 90
set -euo pipefail

node=${PHAROS_NODE:-$(hostname -s)}
list=$(srun --mpi=list 2>&1) || {
  echo "$list"
  fail "srun --mpi=list failed on ${node}"
}
echo "$list"
grep -qw pmix <<<"$list" || fail "srun --mpi=list on ${node} does not list pmix"
# mpi_pmix_v4.so dlopens this unversioned name (libpmix-dev's; the mpi role links it).
lib=/usr/lib/x86_64-linux-gnu/pmix2/lib/libpmix.so
target=$(readlink -e "$lib") || fail "${lib} is missing on ${node}: srun --mpi=pmix cannot load the PMIx library"
echo "ok: ${lib} -> ${target}"

[[ ${PHAROS_NODE_ROLE:-} == compute ]] || {
  echo "ok: pmix listed on ${node}"
  exit 0
}
command -v ompi_info >/dev/null || fail "ompi_info is missing on ${node}: OpenMPI is not installed"
param() {
  ompi_info --parsable --param "$1" "$2" --level 9 | awk -F: -v p="$3" '$5 == p && $6 == "value" { print substr($0, index($0, ":value:") + 7); exit }'
}
btl=$(param btl tcp btl_tcp_if_include)
oob=$(param oob tcp oob_tcp_if_include)
pml=$(param pml all pml)
echo "btl_tcp_if_include=${btl} oob_tcp_if_include=${oob} pml=${pml}"
# The node's cluster address must be inside the network OpenMPI may use, the
# user-mode NIC's (10.0.2.15) outside it.
python3 - "$btl" "${PHAROS_NODE_IP:?}" <<'PY' || fail "btl_tcp_if_include on ${node} is '${btl}': not the cluster network of ${PHAROS_NODE_IP}"
import ipaddress, sys
net = ipaddress.ip_network(sys.argv[1], strict=False)
sys.exit(0 if ipaddress.ip_address(sys.argv[2]) in net and ipaddress.ip_address("10.0.2.15") not in net else 1)
PY
[[ $oob == "$btl" ]] || fail "oob_tcp_if_include on ${node} is '${oob}', not '${btl}'"
[[ $pml == ob1 ]] || fail "pml on ${node} is '${pml}', not ob1 (UCX would choose its own interfaces)"
echo "ok: pmix listed on ${node}; OpenMPI uses only ${btl}"
