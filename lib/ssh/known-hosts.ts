/**
 * The cluster's pinned `known_hosts` (OpenSSH format), in one place: parsing
 * and matching it when connecting (`parseKnownHosts`, `entryMatches`,
 * `verifyHostKey`: plain, wildcard, negated and hashed patterns, `@revoked`),
 * and pinning a VM's host keys in it (`pinHost`, `unpinHost`, `isPinned`).
 * VMs converge concurrently, so every update of one file is serialized within
 * the process and written atomically: no pin loses another's entry and a
 * reader never sees half a file.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PharosError } from '../errors.js';
import { serialized, writeFileAtomic } from '../util/atomic.js';

export interface KnownHostEntry {
  /** 1-based line in the file, for error messages. */
  line: number;
  /** Host patterns (comma-separated field), or one `|1|salt|hash` entry. */
  patterns: string[];
  keyType: string;
  /** The key blob (SSH wire format) the server must present. */
  key: Buffer;
  marker?: '@revoked' | '@cert-authority';
}

/** Parse OpenSSH `known_hosts` text. Bad lines are reported, not ignored:
 *  a pinned file we cannot read completely must not silently trust less. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) {
      throw new PharosError(`malformed known_hosts line ${file}:${i + 1}`, {
        problems: [{ file, line: i + 1, message: 'expected "<host patterns> <key type> <base64 key> [comment]"' }],
      });
    }
    entries.push({ line: i + 1, patterns: hosts.split(','), keyType, key: Buffer.from(b64, 'base64'), marker });
  });
  return entries;
}

/** How known_hosts names host:port: `host` for port 22, else `[host]:port` (as OpenSSH writes it). */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The names a host:port is looked up by when connecting (and, with `alias`, the node's own name). */
export function knownHostNames(host: string, port: number, alias?: string): string[] {
  const names = [hostPattern(host, port)];
  if (alias) names.push(alias, `[${alias}]:${port}`);
  return names;
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

/** Whether one known_hosts entry names `name` (plain, wildcard, negated or hashed). */
export function entryMatches(entry: KnownHostEntry, name: string): boolean {
  let hit = false;
  for (const p of entry.patterns) {
    if (p.startsWith('|1|')) {
      const [, , salt, hash] = p.split('|');
      if (!salt || !hash) continue;
      const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
      if (h === hash) hit = true;
    } else if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false;
    } else if (globMatch(p, name)) hit = true;
  }
  return hit;
}

/** `SHA256:…` as `ssh-keygen -l` prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Key type from an SSH wire-format public key blob (string length + name). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + n).toString('latin1');
}

/** Decide whether `presented` is the pinned key for any of `names`; returns
 *  null when accepted, else the reason (naming file and lines). */
export function verifyHostKey(
  entries: KnownHostEntry[],
  names: string[],
  presented: Buffer,
  file: string,
): string | null {
  const forHost = entries.filter((e) => names.some((n) => entryMatches(e, n)));
  const revoked = forHost.find((e) => e.marker === '@revoked' && e.key.equals(presented));
  if (revoked) return `host key ${fingerprint(presented)} for ${names[0]} is revoked in ${file}:${revoked.line}`;
  const pinned = forHost.filter((e) => !e.marker);
  if (pinned.length === 0) {
    return `no pinned host key for ${names.join(' or ')} in ${file}`;
  }
  if (pinned.some((e) => e.key.equals(presented))) return null;
  const where = pinned.map((e) => `${file}:${e.line} (${e.keyType} ${fingerprint(e.key)})`).join(', ');
  return (
    `HOST KEY MISMATCH for ${names[0]}: the server presented ${keyTypeOf(presented)} ${fingerprint(presented)}, ` +
    `but the pinned key is ${where}`
  );
}

// ---------------------------------------------------------------- pinning

/** One host key to pin: its type and base64 blob, as `ssh-keyscan` and the console announce them. */
export interface PinKey {
  type: string;
  key: string;
}

/** The known_hosts patterns a VM is pinned under: its SSH endpoint and its name. */
export function pinPatterns(sshHost: string, sshPort: number, vmName: string): string[] {
  return [hostPattern(sshHost, sshPort), vmName];
}

/** The file's non-blank lines as they are (a missing or unreadable file has none). */
async function readLines(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}

/** Whether a line's host field lists one of `patterns` literally (pins are matched as written, not as globs). */
function namesAny(line: string, patterns: readonly string[]): boolean {
  return (line.split(/\s+/)[0] ?? '').split(',').some((n) => patterns.includes(n));
}

const writeLines = (file: string, lines: readonly string[]): Promise<void> => writeFileAtomic(file, lines.map((l) => `${l}\n`).join(''), 0o600);

/** Remove every entry naming any of `patterns`. */
export function unpinHost(knownHosts: string, patterns: string[]): Promise<void> {
  return serialized(knownHosts, async () => {
    const lines = await readLines(knownHosts);
    const keep = lines.filter((l) => !namesAny(l, patterns));
    if (keep.length !== lines.length) await writeLines(knownHosts, keep);
  });
}

export async function isPinned(knownHosts: string, patterns: string[]): Promise<boolean> {
  return (await readLines(knownHosts)).some((l) => namesAny(l, patterns));
}

/** Replace the VM's entries with `keys`. VMs converge concurrently: updates of one file are serialized. */
export function pinHost(knownHosts: string, patterns: string[], keys: readonly PinKey[]): Promise<void> {
  return serialized(knownHosts, async () => {
    const lines = (await readLines(knownHosts)).filter((l) => !namesAny(l, patterns));
    for (const k of keys) lines.push(`${patterns.join(',')} ${k.type} ${k.key}`);
    await writeLines(knownHosts, lines);
  });
}
