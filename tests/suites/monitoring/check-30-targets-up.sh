#!/usr/bin/env bash
# @description Prometheus scrapes every node's exporter and each target is up
# @nodes controller
# @timeout 180
set -euo pipefail

[[ ${PHAROS_PROMETHEUS:-0} == 1 ]] || skip "Prometheus is not enabled for this cluster"
[[ ${PHAROS_NODE_EXPORTER:-0} == 1 ]] || skip "node exporter is not enabled for this cluster"
port=${PHAROS_PROMETHEUS_PORT:-9090}
exporter=${PHAROS_NODE_EXPORTER_PORT:-9100}

# Prints one line per node: "<name> <ip> <health>", health "missing" when no
# active target scrapes that node's exporter.
target_health() {
  local body
  body=$(http_get "http://localhost:${port}/api/v1/targets?state=active") || return 1
  python3 -c '
import json, sys
from urllib.parse import urlparse
names, ips, port = sys.argv[1].split(), sys.argv[2].split(), sys.argv[3]
targets = json.load(sys.stdin)["data"]["activeTargets"]
for name, ip in zip(names, ips):
    health = "missing"
    for t in targets:
        u = urlparse(t.get("scrapeUrl", ""))
        if u.hostname in (ip, name) and str(u.port) == port:
            health = t.get("health", "unknown")
            if health == "up":
                break
    print(name, ip, health)
' "$PHAROS_NODES" "$PHAROS_NODE_IPS" "$exporter" <<<"$body"
}
all_up() {
  local h
  h=$(target_health) || return 1
  [[ -n $h ]] && ! grep -qv ' up$' <<<"$h"
}
if ! wait_for "every node exporter target to be up" 150 all_up; then
  target_health || true
  fail "not every node's exporter is scraped and up"
fi
target_health
