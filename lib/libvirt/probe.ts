/**
 * The batched probe: the live state of every domain a cluster wants, in ONE
 * `virsh` process and one libvirt connection.
 *
 * libvirt has no call that returns all domains' metadata at once (`domstats` and
 * `list` carry neither metadata nor XML), so the probe sends one command string —
 * `list --all --name`, then `domstate`, `domuuid` and `metadata --uri` (persistent
 * and live definitions) per wanted
 * domain — separated by `;`, which virsh runs on one connection and continues past
 * a failed command (an absent domain simply yields an empty section).
 */
import { batch, assertSafeName } from '../tools/virsh.js';
import { PHAROS_XMLNS } from './domain.js';

export interface DomainProbe {
  exists: boolean;
  state?: string;
  uuid?: string;
  /** Spec hash of the persistent definition (`<pharos:spec>`), when made by Pharos. */
  specHash?: string;
  /** Spec hash the running domain was started with (absent when not running). */
  liveSpecHash?: string;
  cluster?: string;
}

export interface ObjectProbe {
  exists: boolean;
  active: boolean;
}

export interface ProbeResult {
  /** Every domain name on the connection (for leftover detection). */
  all: string[];
  domains: Map<string, DomainProbe>;
  /** Requested networks and pools (same call). */
  networks: Map<string, ObjectProbe>;
  pools: Map<string, ObjectProbe>;
}

const STATES = ['running', 'shut off', 'paused', 'in shutdown', 'crashed', 'pmsuspended', 'idle', 'blocked', 'dying'];

export async function probeDomains(uri: string, names: string[], extra: { networks?: string[]; pools?: string[] } = {}): Promise<ProbeResult> {
  for (const n of names) assertSafeName('domain', n);
  for (const n of [...(extra.networks ?? []), ...(extra.pools ?? [])]) assertSafeName('network or pool', n);
  const sections = [{ key: 'list', commands: ['list --all --name'] }];
  names.forEach((n, i) => {
    sections.push({
      key: `d${i}`,
      commands: [`domstate ${n}`, `echo @@U@@`, `domuuid ${n}`, `echo @@M@@`, `metadata ${n} --uri ${PHAROS_XMLNS} --config`, `echo @@L@@`, `metadata ${n} --uri ${PHAROS_XMLNS} --live`],
    });
  });
  (extra.networks ?? []).forEach((n, i) => sections.push({ key: `n${i}`, commands: [`net-info ${n}`] }));
  (extra.pools ?? []).forEach((n, i) => sections.push({ key: `p${i}`, commands: [`pool-info ${n}`] }));
  const out = await batch(uri, sections);
  const networks = new Map<string, ObjectProbe>();
  (extra.networks ?? []).forEach((n, i) => {
    const t = out.get(`n${i}`) ?? '';
    networks.set(n, { exists: /^Name:/m.test(t), active: /^Active:\s+yes/m.test(t) });
  });
  const pools = new Map<string, ObjectProbe>();
  (extra.pools ?? []).forEach((n, i) => {
    const t = out.get(`p${i}`) ?? '';
    pools.set(n, { exists: /^Name:/m.test(t), active: /^State:\s+running/m.test(t) });
  });
  const all = (out.get('list') ?? '').split('\n').map((s) => s.trim()).filter(Boolean);
  const domains = new Map<string, DomainProbe>();
  const present = new Set(all);
  names.forEach((n, i) => {
    if (!present.has(n)) {
      domains.set(n, { exists: false });
      return;
    }
    const sec = out.get(`d${i}`) ?? '';
    const [stPart = '', rest = ''] = sec.split('@@U@@');
    const [uuidPart = '', metaRest = ''] = rest.split('@@M@@');
    const [metaPart = '', livePart = ''] = metaRest.split('@@L@@');
    const st = stPart.trim();
    const hash = />\s*([0-9a-f]{16,64})\s*</.exec(metaPart)?.[1];
    const cluster = /cluster=["']([^"']+)["']/.exec(metaPart)?.[1];
    domains.set(n, {
      exists: true,
      state: STATES.includes(st) ? st : st || undefined,
      uuid: uuidPart.trim() || undefined,
      specHash: hash,
      liveSpecHash: />\s*([0-9a-f]{16,64})\s*</.exec(livePart)?.[1],
      cluster,
    });
  });
  return { all, domains, networks, pools };
}
