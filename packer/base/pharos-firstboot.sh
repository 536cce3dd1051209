#!/bin/sh
# pharos-firstboot: apply the per-VM configuration that the host hands to the
# guest through QEMU fw_cfg. Runs on EVERY boot (idempotent), so a VM whose
# config changed (new key, new IP) is brought in line on its next start.
#
# Config source: /sys/firmware/qemu_fw_cfg/by_name/opt/pharos/config/raw
#   QEMU:    -fw_cfg name=opt/pharos/config,string=<text>   (commas doubled)
#   libvirt: <sysinfo type='fwcfg'><entry name='opt/pharos/config'>text</entry>
#
# Format (also in lib/images/firstboot.ts, which renders and parses it; the
# renderer never emits a comma, because libvirt 9.0 passes the text to QEMU's
# -fw_cfg without doubling them): one
# `key=value` per line; the value is everything after the first '='; blank lines
# and lines starting with '#' are ignored; unknown keys are ignored.
#   hostname=<name>                   hostname (required for a real VM)
#   ssh_authorized_key=<pubkey line>  may repeat; written to /root/.ssh/authorized_keys
#   cluster_ip=<addr>/<prefix>        static address for the cluster NIC
#   cluster_mac=<mac>                 which NIC is the cluster NIC
#   mgmt_mac=<mac>                    optional: the management NIC (DHCP)
#   hosts=<name>:<ip> <name>:<ip>     optional: entries for /etc/hosts
#                                     (space- or comma-separated)
#
# Every NIC other than the cluster NIC gets DHCP (QEMU user networking hands out
# 10.0.2.15). Host keys are generated when missing (images ship without them)
# and their public halves are printed to the serial console as
#   PHAROS-HOSTKEY <type> <base64>
# so the host can pin them in known_hosts without trusting the first connection.
set -eu

CONFIG=${PHAROS_FIRSTBOOT_CONFIG:-/sys/firmware/qemu_fw_cfg/by_name/opt/pharos/config/raw}
ROOT=${PHAROS_FIRSTBOOT_ROOT:-}
NETDIR="$ROOT/etc/systemd/network"

log() {
	echo "pharos-firstboot: $*"
}

# Write $2 to file $1 only when the content differs; prints nothing, returns
# 0 when the file changed so callers can decide whether to reload something.
write_if_changed() {
	target=$1
	content=$2
	if [ -f "$target" ] && [ "$(cat "$target")" = "$content" ]; then
		return 1
	fi
	tmp="$target.pharos-tmp"
	printf '%s\n' "$content" >"$tmp"
	mv "$tmp" "$target"
	return 0
}

hostname=''
keys=''
cluster_ip=''
cluster_mac=''
mgmt_mac=''
hosts=''

if [ -r "$CONFIG" ]; then
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in
		'' | '#'*) continue ;;
		*=*) ;;
		*) continue ;;
		esac
		key=${line%%=*}
		value=${line#*=}
		case "$key" in
		hostname) hostname=$value ;;
		ssh_authorized_key) keys="$keys$value
" ;;
		cluster_ip) cluster_ip=$value ;;
		cluster_mac) cluster_mac=$(printf '%s' "$value" | tr 'A-F' 'a-f') ;;
		mgmt_mac) mgmt_mac=$(printf '%s' "$value" | tr 'A-F' 'a-f') ;;
		hosts) hosts=$value ;;
		*) log "ignoring unknown key '$key'" ;;
		esac
	done <"$CONFIG"
else
	log "no config at $CONFIG; keeping defaults (DHCP on every NIC)"
fi

# Hostname: /etc/hostname for later boots, the kernel's value for this one.
if [ -n "$hostname" ]; then
	write_if_changed "$ROOT/etc/hostname" "$hostname" || true
	if [ -z "$ROOT" ]; then
		printf '%s' "$hostname" >/proc/sys/kernel/hostname
	fi
fi

# /etc/hosts: a managed block between markers, the rest left alone.
hosts_file="$ROOT/etc/hosts"
if [ -f "$hosts_file" ]; then
	kept=$(sed '/^# BEGIN pharos$/,/^# END pharos$/d' "$hosts_file")
	block=''
	if [ -n "$hostname" ]; then
		block="127.0.1.1	$hostname"
	fi
	if [ -n "$hosts" ]; then
		old_ifs=$IFS
		IFS=', '
		set -f # split on separators only, never glob a config value
		for entry in $hosts; do
			name=${entry%%:*}
			ip=${entry#*:}
			if [ -n "$name" ] && [ -n "$ip" ] && [ "$name" != "$entry" ]; then
				block="$block
$ip	$name"
			fi
		done
		set +f
		IFS=$old_ifs
	fi
	if [ -n "$block" ]; then
		new="$kept
# BEGIN pharos
$block
# END pharos"
	else
		new=$kept
	fi
	write_if_changed "$hosts_file" "$new" || true
fi

# Root's authorized keys: exactly the configured ones (a removed key is revoked).
if [ -n "$keys" ]; then
	mkdir -p "$ROOT/root/.ssh"
	chmod 0700 "$ROOT/root/.ssh"
	printf '%s' "$keys" >"$ROOT/root/.ssh/authorized_keys.pharos-tmp"
	chmod 0600 "$ROOT/root/.ssh/authorized_keys.pharos-tmp"
	mv "$ROOT/root/.ssh/authorized_keys.pharos-tmp" "$ROOT/root/.ssh/authorized_keys"
fi

# Networking: systemd-networkd files matched by MAC. The cluster NIC gets the
# static address (no gateway: the cluster network is isolated); everything else
# falls through to the DHCP file. Lexical order decides which file matches.
mkdir -p "$NETDIR"
if [ -n "$cluster_mac" ] && [ -n "$cluster_ip" ]; then
	write_if_changed "$NETDIR/10-pharos-cluster.network" "# written by pharos-firstboot from fw_cfg
[Match]
MACAddress=$cluster_mac

[Network]
Address=$cluster_ip
LinkLocalAddressing=no
IPv6AcceptRA=no" || true
else
	rm -f "$NETDIR/10-pharos-cluster.network"
fi
if [ -n "$mgmt_mac" ]; then
	write_if_changed "$NETDIR/20-pharos-mgmt.network" "# written by pharos-firstboot from fw_cfg
[Match]
MACAddress=$mgmt_mac

[Network]
DHCP=ipv4" || true
else
	rm -f "$NETDIR/20-pharos-mgmt.network"
fi

if [ -n "$ROOT" ]; then
	# Offline use (tests against a directory tree) stops here.
	exit 0
fi

# Host keys: images are shipped without them; generate once per VM.
ssh-keygen -A >/dev/null

# Grow the root filesystem to fill its disk (overlays are larger than the image).
rootdev=$(findmnt -n -o SOURCE / || true)
fstype=$(findmnt -n -o FSTYPE / || true)
if [ -n "$rootdev" ] && [ -b "$rootdev" ] && [ "$fstype" = ext4 ]; then
	resize2fs "$rootdev" >/dev/null 2>&1 || log "resize2fs $rootdev failed (continuing)"
fi

# Announce the host keys on the serial console for pinning.
console=/dev/ttyS0
[ -w "$console" ] || console=/dev/console
for pub in /etc/ssh/ssh_host_*_key.pub; do
	[ -f "$pub" ] || continue
	read -r ktype kdata _ <"$pub"
	line="PHAROS-HOSTKEY $ktype $kdata"
	# (console only: the journal copy would print every key twice)
	echo "$line" >"$console" 2>/dev/null || true
done
log "applied (hostname=${hostname:-unchanged})"
