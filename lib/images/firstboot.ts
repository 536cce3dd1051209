/**
 * The per-VM configuration a Pharos image reads at every boot
 * (packer/base/pharos-firstboot.sh), passed through QEMU fw_cfg:
 *
 *   QEMU:    -fw_cfg name=opt/pharos/config,string=<text with commas doubled>
 *   libvirt: <sysinfo type='fwcfg'><entry name='opt/pharos/config'>text</entry></sysinfo>
 *            and <os><smbios mode='sysinfo'/></os>
 *   guest:   /sys/firmware/qemu_fw_cfg/by_name/opt/pharos/config/raw
 *
 * Format: one `key=value` per line, the value is everything after the first
 * `=`; blank lines and `#` lines are ignored; unknown keys are ignored.
 *   hostname=<name>
 *   ssh_authorized_key=<one public key line>     (may repeat)
 *   cluster_ip=<ipv4>/<prefix>                   static address of the cluster NIC
 *   cluster_mac=<mac>                            which NIC that is
 *   mgmt_mac=<mac>                               optional; management NIC (DHCP)
 *   hosts=<name>:<ip> <name>:<ip>                optional; /etc/hosts entries
 *                                                (space-separated; commas accepted)
 * The rendered text never contains a comma: libvirt 9.0 copies the entry into
 * QEMU's `-fw_cfg name=…,string=…` without doubling commas, so one would cut
 * the value short. Every NIC other than the cluster NIC gets DHCP. The guest prints its host
 * keys on the serial console as `PHAROS-HOSTKEY <type> <base64>` lines.
 */
import { PharosError } from '../errors.js';

export const FW_CFG_NAME = 'opt/pharos/config';
export const HOSTKEY_PREFIX = 'PHAROS-HOSTKEY';

export interface FirstbootConfig {
  hostname?: string;
  sshAuthorizedKeys?: string[];
  /** `10.77.0.10/24` */
  clusterIp?: string;
  clusterMac?: string;
  mgmtMac?: string;
  hosts?: { name: string; ip: string }[];
}

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function bad(field: string, value: string, expected: string): never {
  throw new PharosError(`invalid first-boot ${field} '${value}'`, { problems: [{ message: 'invalid value', field, expected }] });
}

function checkIpv4(field: string, v: string): void {
  const m = IPV4.exec(v);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255)) bad(field, v, 'an IPv4 address');
}

function oneLine(field: string, v: string): void {
  if (/[\r\n]/.test(v)) bad(field, v, 'a single line');
}

/** Validates and renders the config text (ends with a newline). */
export function renderFirstbootConfig(c: FirstbootConfig): string {
  const lines: string[] = [];
  if (c.hostname !== undefined) {
    if (!HOSTNAME.test(c.hostname)) bad('hostname', c.hostname, 'a DNS label (letters, digits, -)');
    lines.push(`hostname=${c.hostname}`);
  }
  for (const k of c.sshAuthorizedKeys ?? []) {
    const key = k.trim();
    oneLine('ssh_authorized_key', key);
    if (!/^(ssh-|ecdsa-|sk-)\S+ \S+/.test(key)) bad('ssh_authorized_key', key, 'an OpenSSH public key line');
    if (key.includes(',')) bad('ssh_authorized_key', key, 'a key whose comment has no comma (fw_cfg through libvirt cannot carry one)');
    lines.push(`ssh_authorized_key=${key}`);
  }
  if (c.clusterIp !== undefined) {
    const m = CIDR.exec(c.clusterIp);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
      bad('cluster_ip', c.clusterIp, 'an IPv4 address with prefix, e.g. 10.77.0.10/24');
    }
    lines.push(`cluster_ip=${c.clusterIp}`);
  }
  if (c.clusterMac !== undefined) {
    if (!MAC.test(c.clusterMac)) bad('cluster_mac', c.clusterMac, 'a MAC address aa:bb:cc:dd:ee:ff');
    lines.push(`cluster_mac=${c.clusterMac.toLowerCase()}`);
  }
  if (c.mgmtMac !== undefined) {
    if (!MAC.test(c.mgmtMac)) bad('mgmt_mac', c.mgmtMac, 'a MAC address aa:bb:cc:dd:ee:ff');
    lines.push(`mgmt_mac=${c.mgmtMac.toLowerCase()}`);
  }
  if (c.hosts?.length) {
    for (const h of c.hosts) {
      if (!HOSTNAME.test(h.name) && !/^[A-Za-z0-9.-]+$/.test(h.name)) bad('hosts', h.name, 'a host name');
      checkIpv4('hosts', h.ip);
    }
    lines.push(`hosts=${c.hosts.map((h) => `${h.name}:${h.ip}`).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/** Parses the text the guest reads (same rules as the shell script). */
export function parseFirstbootConfig(text: string): FirstbootConfig {
  const c: FirstbootConfig = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    switch (key) {
      case 'hostname':
        c.hostname = value;
        break;
      case 'ssh_authorized_key':
        (c.sshAuthorizedKeys ??= []).push(value);
        break;
      case 'cluster_ip':
        c.clusterIp = value;
        break;
      case 'cluster_mac':
        c.clusterMac = value.toLowerCase();
        break;
      case 'mgmt_mac':
        c.mgmtMac = value.toLowerCase();
        break;
      case 'hosts':
        c.hosts = value
          .split(/[,\s]+/)
          .filter((e) => e.includes(':'))
          .map((e) => ({ name: e.slice(0, e.indexOf(':')), ip: e.slice(e.indexOf(':') + 1) }))
          .filter((h) => h.name && h.ip);
        break;
      default:
        break; // unknown keys are ignored, as in the guest
    }
  }
  return c;
}

/** The QEMU `-fw_cfg` argument value for a rendered config (commas doubled). */
export function fwCfgQemuArg(text: string): string {
  return `name=${FW_CFG_NAME},string=${text.replace(/,/g, ',,')}`;
}

export interface HostKey {
  type: string;
  key: string;
}

/** Host keys announced on a serial console log (`PHAROS-HOSTKEY <type> <b64>`). */
export function parseHostKeyLines(consoleText: string): HostKey[] {
  const seen = new Map<string, HostKey>();
  const re = new RegExp(`${HOSTKEY_PREFIX} (\\S+) ([A-Za-z0-9+/=]+)`, 'g');
  for (const m of consoleText.matchAll(re)) {
    const type = m[1] as string;
    const key = m[2] as string;
    seen.set(type, { type, key }); // the latest boot wins
  }
  return [...seen.values()];
}

/** known_hosts lines pinning `keys` for `host` (e.g. `[127.0.0.1]:2222`). */
export function knownHostsLines(host: string, keys: readonly HostKey[]): string {
  return keys.map((k) => `${host} ${k.type} ${k.key}\n`).join('');
}

/** The known_hosts host pattern for a port (`[h]:p` unless p is 22). */
export function knownHostsPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}
