#!/usr/bin/env bash
# Start virtlogd and libvirtd by hand where no service manager runs them, and
# wait until libvirtd answers. Idempotent: does nothing when it already answers.
set -euo pipefail
uri=${LIBVIRT_DEFAULT_URI:-qemu:///system}
if virsh -c "$uri" version >/dev/null 2>&1; then exit 0; fi
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 1 100); do
  if virsh -c "$uri" version >/dev/null 2>&1; then exit 0; fi
  sleep 0.2
done
echo "libvirtd did not answer on $uri within 20 s (see /var/log/libvirt/libvirtd.log)" >&2
exit 1
