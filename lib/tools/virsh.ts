/**
 * Thin typed wrapper over `virsh`. Every call names its connection URI with `-c`
 * (never the ambient default, which differs between root and users), runs through
 * `exec` with an argument array, and turns the common failure — libvirtd not
 * reachable — into one message with the command that fixes it.
 *
 * Batching: `virsh` accepts several commands separated by `;` in one argument and
 * runs them on ONE connection, continuing after a failed command. `batch()` uses
 * that with `echo` markers between sections so a probe of N domains costs one
 * process and one connection instead of N.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, ExecError, type ExecOptions } from './exec.js';
import { PharosError } from '../errors.js';

/** Names we pass into virsh's own command language must not need quoting,
 *  and must not start with `-`, which virsh would read as an option. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

export function assertSafeName(kind: string, name: string): void {
  if (!SAFE_NAME.test(name)) {
    throw new PharosError(`invalid libvirt ${kind} name: ${JSON.stringify(name)}`, {
      hint: 'use letters, digits, ".", "_", "+" and "-" only',
    });
  }
}

const UNREACHABLE = /failed to connect to the hypervisor|Failed to connect socket|no such file or directory.*sock|Connection refused/i;

function connectHint(uri: string): string {
  return uri.includes('session')
    ? 'start the session daemon (it starts on demand: check XDG_RUNTIME_DIR) or use qemu:///system'
    : 'start it: `virtlogd -d && libvirtd -d` (or `pharos build host:libvirtd`)';
}

/** Run `virsh -c URI ARGS…`; returns stdout. */
export async function virsh(uri: string, args: readonly string[], opts: ExecOptions = {}): Promise<string> {
  try {
    const r = await exec('virsh', ['-q', '-c', uri, ...args], { pkg: 'libvirt-clients', timeoutMs: 120_000, ...opts });
    return r.stdout;
  } catch (e) {
    if (e instanceof ExecError && UNREACHABLE.test(e.stderr)) {
      throw new PharosError(`libvirtd is not reachable at ${uri}`, { hint: connectHint(uri) });
    }
    if (e instanceof ExecError && /Unable to find 'dnsmasq'/.test(e.stderr)) {
      throw new PharosError(`${e.message}`, { hint: 'NAT networks need dnsmasq: apt-get install dnsmasq-base (or `pharos build host:packages`)' });
    }
    throw e;
  }
}

/** Whether `virsh` failed because the object does not exist. */
export function isNotFound(e: unknown): boolean {
  return e instanceof ExecError && /(failed to get|not found|no domain with matching|no network with matching|no storage pool with matching|Storage volume not found)/i.test(e.stderr);
}

/** Runs XML-taking commands (`define`, `net-define`, …) through a private temp file. */
async function withXmlFile<T>(xml: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pharos-xml-'));
  const file = join(dir, 'def.xml');
  try {
    await writeFile(file, xml, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export type DomainState = 'running' | 'shut off' | 'paused' | 'in shutdown' | 'crashed' | 'pmsuspended' | 'idle' | 'blocked' | string;

/** Sections of one batched call, keyed by the marker each section started with. */
export async function batch(uri: string, sections: { key: string; commands: string[] }[]): Promise<Map<string, string>> {
  const parts: string[] = [];
  for (const s of sections) {
    if (!/^[A-Za-z0-9_.:+-]+$/.test(s.key)) throw new PharosError(`invalid batch key ${s.key}`);
    parts.push(`echo @@S:${s.key}@@`, ...s.commands);
  }
  parts.push('echo @@END@@');
  const out = await virsh(uri, [parts.join(' ; ')]);
  const res = new Map<string, string>();
  const re = /@@S:([A-Za-z0-9_.:+-]+)@@([\s\S]*?)(?=@@S:|@@END@@)/g;
  for (const m of out.matchAll(re)) res.set(m[1]!, m[2]!);
  return res;
}

export const domain = {
  async list(uri: string): Promise<string[]> {
    const out = await virsh(uri, ['list', '--all', '--name']);
    return out.split('\n').map((s) => s.trim()).filter(Boolean);
  },
  async define(uri: string, xml: string): Promise<void> {
    await withXmlFile(xml, (f) => virsh(uri, ['define', f]));
  },
  async undefine(uri: string, name: string): Promise<void> {
    await virsh(uri, ['undefine', name]);
  },
  async start(uri: string, name: string): Promise<void> {
    await virsh(uri, ['start', name]);
  },
  async shutdown(uri: string, name: string): Promise<void> {
    await virsh(uri, ['shutdown', name]);
  },
  /** Hard power-off (libvirt's `destroy`: the definition stays). */
  async destroy(uri: string, name: string): Promise<void> {
    await virsh(uri, ['destroy', name]);
  },
  async state(uri: string, name: string): Promise<DomainState | undefined> {
    try {
      return (await virsh(uri, ['domstate', name])).trim();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  },
  async uuid(uri: string, name: string): Promise<string> {
    return (await virsh(uri, ['domuuid', name])).trim();
  },
  async dumpxml(uri: string, name: string, inactive = false): Promise<string> {
    return virsh(uri, ['dumpxml', name, ...(inactive ? ['--inactive'] : [])]);
  },
};

export const network = {
  async list(uri: string): Promise<string[]> {
    const out = await virsh(uri, ['net-list', '--all', '--name']);
    return out.split('\n').map((s) => s.trim()).filter(Boolean);
  },
  async define(uri: string, xml: string): Promise<void> {
    await withXmlFile(xml, (f) => virsh(uri, ['net-define', f]));
  },
  async start(uri: string, name: string): Promise<void> {
    await virsh(uri, ['net-start', name]);
  },
  async autostart(uri: string, name: string): Promise<void> {
    await virsh(uri, ['net-autostart', name]);
  },
  async destroy(uri: string, name: string): Promise<void> {
    await virsh(uri, ['net-destroy', name]);
  },
  async undefine(uri: string, name: string): Promise<void> {
    await virsh(uri, ['net-undefine', name]);
  },
  async isActive(uri: string, name: string): Promise<boolean | undefined> {
    try {
      const info = await virsh(uri, ['net-info', name]);
      return /^Active:\s+yes/m.test(info);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  },
  async dumpxml(uri: string, name: string): Promise<string> {
    return virsh(uri, ['net-dumpxml', name, '--inactive']);
  },
};

export const pool = {
  async list(uri: string): Promise<string[]> {
    const out = await virsh(uri, ['pool-list', '--all', '--name']);
    return out.split('\n').map((s) => s.trim()).filter(Boolean);
  },
  async define(uri: string, xml: string): Promise<void> {
    await withXmlFile(xml, (f) => virsh(uri, ['pool-define', f]));
  },
  async start(uri: string, name: string): Promise<void> {
    await virsh(uri, ['pool-start', name]);
  },
  async refresh(uri: string, name: string): Promise<void> {
    await virsh(uri, ['pool-refresh', name]);
  },
  async destroy(uri: string, name: string): Promise<void> {
    await virsh(uri, ['pool-destroy', name]);
  },
  async undefine(uri: string, name: string): Promise<void> {
    await virsh(uri, ['pool-undefine', name]);
  },
  async isActive(uri: string, name: string): Promise<boolean | undefined> {
    try {
      const info = await virsh(uri, ['pool-info', name]);
      return /^State:\s+running/m.test(info);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  },
  async dumpxml(uri: string, name: string): Promise<string> {
    return virsh(uri, ['pool-dumpxml', name, '--inactive']);
  },
  async volumes(uri: string, name: string): Promise<string[]> {
    const out = await virsh(uri, ['vol-list', name]);
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0] ?? '')
      .filter(Boolean);
  },
};
