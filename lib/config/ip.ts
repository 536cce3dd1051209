/** IPv4 arithmetic for subnets, gateways and address assignment. */

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Subnet {
  /** Network address as an integer (host bits cleared). */
  network: number;
  prefix: number;
  /** Number of addresses, including network and broadcast. */
  size: number;
  /** Whether the written address had host bits set (`10.0.0.5/24`). */
  hostBitsSet: boolean;
}

export function parseSubnet(cidr: string): Subnet {
  const [addr, p] = cidr.split('/');
  const prefix = Number(p);
  if (addr === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not a CIDR: ${cidr}`);
  const ip = ipToInt(addr);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ip & mask) >>> 0;
  return { network, prefix, size: 2 ** (32 - prefix), hostBitsSet: network !== ip };
}

export function netmask(prefix: number): string {
  return intToIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

export function inSubnet(ip: string, s: Subnet): boolean {
  const n = ipToInt(ip);
  return n >= s.network && n < s.network + s.size;
}

/** Usable host address: inside, and neither the network nor the broadcast address. */
export function isHostAddress(ip: string, s: Subnet): boolean {
  const n = ipToInt(ip);
  return n > s.network && n < s.network + s.size - 1;
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** The address `offset` after the network address. */
export function nthAddress(s: Subnet, offset: number): string {
  return intToIp(s.network + offset);
}
