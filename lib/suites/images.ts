/**
 * The container images a cluster's registry holds, as the suites see them.
 * Each `push:<cluster>:<image>` records what it pushed under
 * `.pharos/clusters/<cluster>/images/<image>.json`; the suite targets get the
 * same values from their push dependencies, and `pharos test run-test(s)` and
 * the e2e re-runs (which run suites outside the graph) read the records.
 *
 *   PHAROS_CONTAINER_REF     the default image (`pytorch` when pushed, else the
 *                            first) by digest: `<ip>:<port>/pharos/<name>@sha256:…`
 *   PHAROS_CONTAINER_IMAGES  `name=ref` of every pushed image
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

export interface PushedImage {
  image: string;
  /** What a node pulls: `<registry>/pharos/<name>@sha256:…`. */
  ref: string;
  /** The same image by tag (`latest`). */
  tagRef: string;
  digest: string;
}

/** Suites that run the cluster's container images (they wait for the pushes). */
export const CONTAINER_SUITES: readonly string[] = ['containers', 'distributed-training'];
export const DEFAULT_CONTAINER_IMAGE = 'pytorch';

export function pushRecordsDir(stateDir: string, cluster: string): string {
  return join(stateDir, 'clusters', cluster, 'images');
}

/** Writes one image record (`<dir>/<image>.json`, atomically): a push or a preload. */
export async function writeImageRecord(dir: string, record: { image: string }): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, `${record.image}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

/** The records under `dir` that pass `valid`, by image name; none (or unreadable): []. */
export async function readImageRecords<T>(dir: string, valid: (v: unknown) => v is T): Promise<T[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  const out: T[] = [];
  for (const n of names) {
    try {
      const v: unknown = JSON.parse(await readFile(join(dir, n), 'utf8'));
      if (valid(v)) out.push(v);
    } catch {
      /* a torn or foreign file: not a record */
    }
  }
  return out;
}

export async function recordPush(stateDir: string, cluster: string, p: PushedImage): Promise<void> {
  await writeImageRecord(pushRecordsDir(stateDir, cluster), p);
}

function isPushedImage(v: unknown): v is PushedImage {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o.image === 'string' && typeof o.ref === 'string' && typeof o.tagRef === 'string' && typeof o.digest === 'string';
}

/** The records of a cluster's pushes, by image name; none (or unreadable): []. */
export function readPushes(stateDir: string, cluster: string): Promise<PushedImage[]> {
  return readImageRecords(pushRecordsDir(stateDir, cluster), isPushedImage);
}

export function containerEnv(pushes: readonly PushedImage[]): Record<string, string> {
  const main = pushes.find((p) => p.image === DEFAULT_CONTAINER_IMAGE) ?? pushes[0];
  return {
    PHAROS_CONTAINER_REF: main?.ref ?? '',
    PHAROS_CONTAINER_IMAGES: pushes.map((p) => `${p.image}=${p.ref}`).join(' '),
  };
}
