/**
 * Thin typed wrapper over `packer`: build, validate and fmt-check a template
 * directory. Builds run with `-machine-readable` so each UI line arrives
 * whole and tagged; we turn them back into plain text for the target's log and
 * derive the phase (booting, provisioning, compacting) for the status line.
 */
import { join } from 'node:path';
import { defaultCacheDir } from '../images/store.js';
import { exec } from './exec.js';

export type PackerPhase = 'preparing' | 'booting' | 'provisioning' | 'cleanup' | 'compacting' | 'done';

export type PackerVars = Record<string, string | number | boolean>;

export interface PackerBuildOptions {
  /** Directory holding the *.pkr.hcl files (packer runs in it). */
  dir: string;
  vars: PackerVars;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  onPhase?: (phase: PackerPhase) => void;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface PackerBuildResult {
  /** Files Packer reported as the artifact. */
  artifactFiles: string[];
}

export function varArgs(vars: PackerVars): string[] {
  return Object.entries(vars)
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([k, v]) => ['-var', `${k}=${String(v)}`]);
}

/** One `-machine-readable` line: `time,target,type,data...` with escaped commas. */
export interface MachineLine {
  time: string;
  target: string;
  type: string;
  data: string[];
}

export function parseMachineLine(line: string): MachineLine | undefined {
  const parts = line.split(',');
  if (parts.length < 3 || !/^\d+$/.test(parts[0] ?? '')) return undefined;
  const unescape = (s: string): string => s.replace(/%!\(PACKER_COMMA\)/g, ',').replace(/\\n/g, '\n').replace(/\\r/g, '');
  return {
    time: parts[0] as string,
    target: parts[1] as string,
    type: parts[2] as string,
    data: parts.slice(3).map(unescape),
  };
}

/** The phase a Packer UI message starts, if any (qemu builder wording, 1.6 to 1.11). */
export function phaseOf(text: string): PackerPhase | undefined {
  if (/PHAROS-PHASE cleanup/.test(text)) return 'cleanup';
  if (/Starting VM|Waiting for SSH|Retrieving ISO|Copying hard drive|Creating hard drive|Resizing hard drive/i.test(text)) return 'booting';
  if (/Connected to SSH|Provisioning with/i.test(text)) return 'provisioning';
  if (/Gracefully halting|Converting hard drive|compact/i.test(text)) return 'compacting';
  return undefined;
}

/** Where Packer may keep its cache: under the machine cache, never in the source tree. */
export function packerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultCacheDir(env), 'packer');
}

export async function packerBuild(o: PackerBuildOptions): Promise<PackerBuildResult> {
  const artifactFiles: string[] = [];
  let phase: PackerPhase = 'preparing';
  o.onPhase?.(phase);
  const order: PackerPhase[] = ['preparing', 'booting', 'provisioning', 'cleanup', 'compacting', 'done'];
  const advance = (p: PackerPhase | undefined): void => {
    // Phases only move forward: a "Provisioning with" line during cleanup
    // (the cleanup step is itself a provisioner) must not step back.
    if (p && order.indexOf(p) > order.indexOf(phase)) {
      phase = p;
      o.onPhase?.(p);
    }
  };
  const handle = (raw: string): void => {
    const m = parseMachineLine(raw);
    if (!m) {
      if (raw.trim()) o.onLine?.(raw);
      return;
    }
    if (m.type === 'ui') {
      const text = m.data[1] ?? '';
      for (const l of text.split('\n')) {
        o.onLine?.(l);
        advance(phaseOf(l));
      }
    } else if (m.type === 'artifact' && m.data[1] === 'file' && m.data[2]) {
      artifactFiles.push(m.data[2]);
    } else if (m.type === 'error') {
      o.onLine?.(`error: ${m.data.join(' ')}`);
    }
  };
  await exec('packer', ['build', '-machine-readable', '-color=false', '-force', ...varArgs(o.vars), '.'], {
    cwd: o.dir,
    // Packer keeps lock files in ./packer_cache of the template directory by
    // default: that would write into the sources that form the image's key.
    env: { ...(o.env ?? process.env), CHECKPOINT_DISABLE: '1', PACKER_NO_COLOR: '1', PACKER_CACHE_DIR: packerCacheDir(o.env ?? process.env) },
    signal: o.signal,
    onLine: handle,
    timeoutMs: o.timeoutMs ?? 2 * 60 * 60_000,
    timeoutWhat: `packer build in ${o.dir}`,
    // Packer cleans up its VM on SIGTERM/SIGINT; give it time before SIGKILL.
    killGraceMs: 30_000,
    pkg: 'packer',
  });
  advance('done');
  return { artifactFiles };
}

export async function packerValidate(dir: string, vars: PackerVars, signal?: AbortSignal): Promise<void> {
  await exec('packer', ['validate', ...varArgs(vars), '.'], {
    cwd: dir,
    env: { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CACHE_DIR: packerCacheDir() },
    signal,
    pkg: 'packer',
  });
}

/** Throws (naming the files and showing the diff) when `dir` is not `packer fmt`-clean. */
export async function packerFmtCheck(dir: string, signal?: AbortSignal): Promise<void> {
  await exec('packer', ['fmt', '-check', '-diff', '.'], {
    cwd: dir,
    env: { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CACHE_DIR: packerCacheDir() },
    signal,
    pkg: 'packer',
  });
}

/** `Packer v1.6.6` → `1.6.6` (joins image cache keys). */
export async function packerVersion(): Promise<string> {
  const r = await exec('packer', ['version'], { env: { ...process.env, CHECKPOINT_DISABLE: '1' }, pkg: 'packer' });
  const m = /v?(\d+\.\d+\.\d+)/.exec(r.stdout);
  return m?.[1] ?? r.stdout.trim().split('\n')[0] ?? 'unknown';
}
