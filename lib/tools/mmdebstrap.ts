/**
 * Thin typed wrapper over `mmdebstrap`: builds a Debian root tree from a mirror
 * with no other network and without mounting anything ourselves. The caller
 * chooses the output form by the target's name (a directory here).
 */
import { exec } from './exec.js';
import { PharosError } from '../errors.js';

export interface MmdebstrapOptions {
  suite: string;
  /** Output: a directory (must not exist or be empty) or a tarball path. */
  target: string;
  /** Mirror URL; default: the Debian CDN. */
  mirror?: string;
  /** `--variant`; default `apt` (Essential + apt, plus `include`). */
  variant?: string;
  include: readonly string[];
  /** Extra `--aptopt` values. */
  aptOptions?: readonly string[];
  /** Extra `--dpkgopt` values (e.g. `path-exclude=/usr/share/man/*`). */
  dpkgOptions?: readonly string[];
  /** `--customize-hook` commands (run with the root tree as `$1`). */
  customizeHooks?: readonly string[];
  /** `--components` (default: main). */
  components?: readonly string[];
  /** Variables added to mmdebstrap's environment (`SOURCE_DATE_EPOCH`, `TMPDIR`). */
  env?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';

/** One URL, nothing mmdebstrap could read as more of a sources.list line:
 *  it writes `deb MIRROR SUITE COMPONENTS`, so a space or a line break would add
 *  options or whole sources (`[trusted=yes]`). The config schema says the same. */
const MIRROR_RE = /^(https?|file):\/\/[!-~]+$/;
const SUITE_RE = /^[a-z][a-z0-9-]*$/;

export function mmdebstrapArgs(o: MmdebstrapOptions): string[] {
  if (o.mirror !== undefined && !MIRROR_RE.test(o.mirror)) {
    throw new PharosError(`mmdebstrap mirror ${JSON.stringify(o.mirror)} is not one http, https or file URL`, { hint: 'set global.base_image.mirror to a URL such as http://deb.debian.org/debian', exitCode: 2 });
  }
  if (!SUITE_RE.test(o.suite)) throw new PharosError(`mmdebstrap suite ${JSON.stringify(o.suite)} is not a suite name`, { hint: 'e.g. bookworm', exitCode: 2 });
  const args = [`--variant=${o.variant ?? 'apt'}`, '--mode=root', '--format=directory'];
  if (o.target.endsWith('.tar') || o.target.endsWith('.tar.gz') || o.target.endsWith('.tar.zst')) {
    args[2] = '--format=tar';
  }
  if (o.include.length) args.push(`--include=${o.include.join(',')}`);
  if (o.components?.length) args.push(`--components=${o.components.join(',')}`);
  for (const a of o.aptOptions ?? []) args.push(`--aptopt=${a}`);
  for (const d of o.dpkgOptions ?? []) args.push(`--dpkgopt=${d}`);
  for (const h of o.customizeHooks ?? []) args.push(`--customize-hook=${h}`);
  args.push(o.suite, o.target, o.mirror ?? DEFAULT_MIRROR);
  return args;
}

export async function mmdebstrap(o: MmdebstrapOptions): Promise<void> {
  await exec('mmdebstrap', mmdebstrapArgs(o), {
    env: o.env ? { ...process.env, ...o.env } : undefined,
    signal: o.signal,
    onLine: o.onLine ? (l) => o.onLine?.(l) : undefined,
    timeoutMs: o.timeoutMs ?? 30 * 60_000,
    timeoutWhat: `mmdebstrap ${o.suite} from ${o.mirror ?? DEFAULT_MIRROR}`,
    pkg: 'mmdebstrap',
  });
}

/** `mmdebstrap 1.3.5` → `1.3.5` (joins image cache keys). */
export async function mmdebstrapVersion(): Promise<string> {
  const r = await exec('mmdebstrap', ['--version'], { pkg: 'mmdebstrap' });
  return r.stdout.trim().replace(/^mmdebstrap\s+/, '');
}
