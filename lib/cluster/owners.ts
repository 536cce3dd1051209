/**
 * Which checkout owns each cluster name.
 *
 * libvirt objects are machine-wide and the state root is per user, not per
 * checkout, so two checkouts whose configs use the same cluster name would
 * drive the same VMs (one's `pharos test e2e` tearing down the other's
 * cluster). The first checkout that creates a cluster records itself in
 * `<stateRoot>/cluster-owners/<cluster>.json`, beside the GPU record
 * (`gpu-owners.json`); a command from any other checkout that would create,
 * change or destroy that cluster stops with a PharosError naming the owner.
 *
 * - Claiming is atomic without a lock: the record is written to a temp file and
 *   hard-linked into place, which fails when a record exists, so of two
 *   checkouts racing for a new name exactly one wins.
 * - `destroy` releases the record.
 * - A record whose checkout directory no longer exists is stale (the checkout
 *   was deleted): the next checkout to use the name takes it over atomically
 *   (rename over it), with a warning naming the old owner.
 *
 * The owner is the checkout's root (the nearest directory with
 * `pharos.build.ts`, as the CLI finds it), else the working directory.
 */
import { existsSync, realpathSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PharosError } from '../errors.js';
import { tempPathFor } from '../util/atomic.js';

export interface ClusterOwner {
  cluster: string;
  /** Absolute path of the owning checkout. */
  owner: string;
  since: string;
}

export interface OwnerEnv {
  stateRoot: string;
  cluster: string;
  owner: string;
  log: (line: string) => void;
}

/** The build file that marks a checkout (the CLI's `BUILD_FILE`). */
const CHECKOUT_MARK = 'pharos.build.ts';

/** Canonical form of an owner path (symlinks resolved when it exists). */
export function ownerPath(dir: string): string {
  const abs = resolve(dir);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** The checkout around the working directory, else the working directory itself. */
export function defaultOwner(from = process.cwd()): string {
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, CHECKOUT_MARK))) return ownerPath(d);
    if (dirname(d) === d) return ownerPath(from);
  }
}

export function clusterOwnerFile(stateRoot: string, cluster: string): string {
  return join(stateRoot, 'cluster-owners', `${cluster}.json`);
}

export async function readClusterOwner(stateRoot: string, cluster: string): Promise<ClusterOwner | undefined> {
  const file = clusterOwnerFile(stateRoot, cluster);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PharosError(`cannot read ${file}: ${(e as Error).message}`, { hint: 'fix its permissions, or delete it to release the cluster name' });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  if (typeof o.owner !== 'string' || o.owner === '') {
    throw new PharosError(`${file} is not a cluster owner record (expected {"cluster", "owner", "since"})`, {
      hint: `delete it to release the name ${cluster} (the next command that creates the cluster records its checkout)`,
    });
  }
  return { cluster, owner: o.owner, since: typeof o.since === 'string' ? o.since : '' };
}

async function dirExists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

function refusal(env: OwnerEnv, o: ClusterOwner, doing: string): PharosError {
  return new PharosError(
    `cluster ${env.cluster} belongs to another checkout: ${o.owner}${o.since ? ` (since ${o.since})` : ''}; not ${doing} it from ${env.owner}`,
    {
      hint: `destroy it there (cd ${o.owner} && pharos cluster destroy ${env.cluster}), or give this checkout's cluster another name in its config; the record is ${clusterOwnerFile(env.stateRoot, env.cluster)}`,
    },
  );
}

export type OwnerCheck = 'ours' | 'unowned' | 'stale';

/**
 * Refuse when a live checkout other than `env.owner` owns the cluster. `doing`
 * completes "not … it" in the message (e.g. "destroying").
 */
export async function checkClusterOwner(env: OwnerEnv, doing: string): Promise<OwnerCheck> {
  return (await inspect(env, doing)).seen;
}

async function inspect(env: OwnerEnv, doing: string): Promise<{ seen: OwnerCheck; record?: ClusterOwner }> {
  const record = await readClusterOwner(env.stateRoot, env.cluster);
  if (!record) return { seen: 'unowned' };
  if (record.owner === env.owner) return { seen: 'ours', record };
  if (await dirExists(record.owner)) throw refusal(env, record, doing);
  return { seen: 'stale', record };
}

/**
 * Make `env.owner` the cluster's owner, or refuse (see `checkClusterOwner`).
 * Returns what was there: `unowned` (this call claimed it), `ours`, or `stale`
 * (taken over from a checkout that no longer exists, with a warning).
 */
export async function claimCluster(env: OwnerEnv, doing: string): Promise<OwnerCheck> {
  const file = clusterOwnerFile(env.stateRoot, env.cluster);
  for (let attempt = 0; attempt < 10; attempt++) {
    const { seen, record: before } = await inspect(env, doing);
    if (seen === 'ours') return seen;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = tempPathFor(file);
    const record: ClusterOwner = { cluster: env.cluster, owner: env.owner, since: new Date().toISOString() };
    await writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
    try {
      if (seen === 'unowned') await link(tmp, file);
      else await rename(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue; // claimed meanwhile: look again
      throw new PharosError(`cannot write ${file}: ${(e as Error).message}`, { hint: `check that ${dirname(file)} is writable` });
    } finally {
      await rm(tmp, { force: true });
    }
    // Two takeovers of one stale record may race: the last rename wins, so read back.
    const now = await readClusterOwner(env.stateRoot, env.cluster);
    if (now?.owner !== env.owner) continue;
    if (seen === 'stale') {
      env.log(`warning: cluster ${env.cluster} was owned by ${before?.owner ?? 'a checkout'}, which no longer exists; ${env.owner} takes it over`);
    }
    return seen;
  }
  throw new PharosError(`cannot claim cluster ${env.cluster}: ${file} keeps changing`, { hint: 'another pharos is claiming the same cluster name; try again' });
}

/** Forget the cluster's owner (after destroy); only ours, or a stale one, is removed. */
export async function releaseCluster(env: OwnerEnv): Promise<void> {
  const o = await readClusterOwner(env.stateRoot, env.cluster);
  if (!o) return;
  if (o.owner !== env.owner && (await dirExists(o.owner))) return;
  await rm(clusterOwnerFile(env.stateRoot, env.cluster), { force: true });
}
