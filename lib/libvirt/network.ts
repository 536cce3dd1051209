/**
 * Libvirt network XML for a cluster.
 *
 * - `nat`: the original behaviour. A NAT bridge named from the config; the host
 *   holds the gateway (subnet + 1); DHCP hands out subnet+10 … subnet+254 and
 *   every VM has a fixed `<host mac ip name>` entry, so the address a VM gets is
 *   the one the plan computed.
 * - `user`: an isolated bridge for the cluster NIC only — no `<forward>` (no route
 *   off the machine) and no `<ip>` (the host has no address on it, runs no DHCP).
 *   Guests configure their static cluster address themselves from fw_cfg (see
 *   `domain.ts`). Linux caps bridge names at 15 characters.
 */
import type { ClusterPlan } from '../model.js';
import { PharosError } from '../errors.js';
import { esc } from './xml.js';

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new PharosError(`bad IPv4 address ${ip}`);
  return ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function prefixToNetmask(prefix: number): string {
  return intToIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** Network address, gateway (+1), DHCP start (+10) and end (broadcast - 1) of a CIDR. */
export function subnetInfo(cidr: string): { network: string; prefix: number; netmask: string; gateway: string; dhcpStart: string; dhcpEnd: string } {
  const [addr, p] = cidr.split('/');
  const prefix = Number(p);
  if (!addr || !Number.isInteger(prefix) || prefix < 8 || prefix > 28) throw new PharosError(`bad subnet ${cidr}`, { hint: 'use a CIDR from /8 to /28 such as 192.168.100.0/24 (the schema\'s rule)' });
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (ipToInt(addr) & mask) >>> 0;
  const bcast = (net | (~mask >>> 0)) >>> 0;
  return {
    network: intToIp(net),
    prefix,
    netmask: intToIp(mask),
    gateway: intToIp(net + 1),
    dhcpStart: intToIp(net + 10),
    dhcpEnd: intToIp(bcast - 1),
  };
}

export function assertBridgeName(name: string): void {
  if (name.length === 0 || name.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new PharosError(`bridge name ${JSON.stringify(name)} is not a valid Linux interface name`, {
      hint: 'use at most 15 characters of letters, digits, "-", "_" and "."',
    });
  }
}

export function networkXml(plan: ClusterPlan): string {
  const n = plan.network;
  assertBridgeName(n.bridge);
  const L: string[] = ['<network>', `  <name>${esc(n.libvirtName)}</name>`];
  if (n.mode === 'nat') {
    const s = subnetInfo(n.subnet);
    L.push(`  <forward mode='nat'/>`);
    L.push(`  <bridge name='${esc(n.bridge)}' stp='on' delay='0'/>`);
    L.push(`  <ip address='${s.gateway}' netmask='${s.netmask}'>`);
    L.push('    <dhcp>');
    L.push(`      <range start='${s.dhcpStart}' end='${s.dhcpEnd}'/>`);
    for (const node of plan.nodes) {
      L.push(`      <host mac='${esc(node.mac)}' name='${esc(node.shortName)}' ip='${esc(node.ip)}'/>`);
    }
    L.push('    </dhcp>');
    L.push('  </ip>');
  } else {
    L.push(`  <bridge name='${esc(n.bridge)}' stp='on' delay='0'/>`);
  }
  L.push('</network>');
  return L.join('\n') + '\n';
}

/** The parts of a defined network we compare to decide whether it must be redefined. */
export function networkFingerprint(xml: string): string {
  const parts: string[] = [];
  const fwd = /<forward mode='([^']+)'/.exec(xml);
  parts.push(`forward=${fwd?.[1] ?? 'none'}`);
  parts.push(`bridge=${/<bridge name='([^']+)'/.exec(xml)?.[1] ?? ''}`);
  const ip = /<ip address='([^']+)' netmask='([^']+)'/.exec(xml);
  parts.push(`ip=${ip ? `${ip[1]}/${ip[2]}` : 'none'}`);
  const range = /<range start='([^']+)' end='([^']+)'/.exec(xml);
  if (range) parts.push(`range=${range[1]}-${range[2]}`);
  const hosts = [...xml.matchAll(/<host mac='([^']+)' name='([^']+)' ip='([^']+)'\/>/g)].map((m) => `${m[1]!.toLowerCase()},${m[2]},${m[3]}`).sort();
  parts.push(`hosts=${hosts.join(';')}`);
  return parts.join('|');
}
