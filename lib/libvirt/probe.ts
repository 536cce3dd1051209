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

export interface ProbeResult {
  /** Every domain name on the connection (for leftover detection). */
  all: string[];
  domains: Map<string, DomainProbe>;
}

const STATES = ['running', 'shut off', 'paused', 'in shutdown', 'crashed', 'pmsuspended', 'idle', 'blocked', 'dying'];

export async function probeDomains(uri: string, names: string[]): Promise<ProbeResult> {
  for (const n of names) assertSafeName('domain', n);
  const sections = [{ key: 'list', commands: ['list --all --name'] }];
  names.forEach((n, i) => {
    sections.push({
      key: `d${i}`,
      commands: [`domstate ${n}`, `echo @@U@@`, `domuuid ${n}`, `echo @@M@@`, `metadata ${n} --uri ${PHAROS_XMLNS} --config`, `echo @@L@@`, `metadata ${n} --uri ${PHAROS_XMLNS} --live`],
    });
  });
  const out = await batch(uri, sections);
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
  return { all, domains };
}
