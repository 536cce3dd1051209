/**
 * The container images a cloud cluster's containerd holds (imported by the
 * `preload:<cluster>:<image>` targets, tasks/preload.ts), as the cloud suites
 * see them. Each preload records what it imported under
 * `.pharos/clusters/<cluster>/preloads/<image>.json`, for the suites run
 * outside the graph (`pharos test run-test`).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

export interface PreloadOut {
  image: string;
  /** The name containerd knows it by on every node. */
  ref: string;
  /** Manifest digest (`sha256:…`): what every node holds. */
  digest: string;
  nodes: string[];
}

export function preloadRecordsDir(stateDir: string, cluster: string): string {
  return path.join(stateDir, 'clusters', cluster, 'preloads');
}

export async function recordPreload(stateDir: string, cluster: string, p: PreloadOut): Promise<void> {
  const dir = preloadRecordsDir(stateDir, cluster);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, `${p.image}.json`), `${JSON.stringify(p, null, 2)}\n`);
}

/** The records of a cluster's preloads (none, or unreadable: []). */
export async function readPreloads(stateDir: string, cluster: string): Promise<PreloadOut[]> {
  const dir = preloadRecordsDir(stateDir, cluster);
  const out: PreloadOut[] = [];
  for (const n of (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort()) {
    try {
      const v = JSON.parse(await readFile(path.join(dir, n), 'utf8')) as Partial<PreloadOut>;
      if (typeof v.image === 'string' && typeof v.ref === 'string' && typeof v.digest === 'string') out.push({ image: v.image, ref: v.ref, digest: v.digest, nodes: v.nodes ?? [] });
    } catch {
      /* a torn or foreign file */
    }
  }
  return out;
}

/**
 * What the cloud suites see: `PHAROS_CONTAINER_REF` (the first preloaded
 * image's name in containerd, empty when none), `PHAROS_CONTAINER_DIGEST` (its
 * manifest digest) and `PHAROS_CONTAINER_IMAGES` (`name=ref` of each).
 */
export function preloadEnv(loaded: readonly PreloadOut[]): Record<string, string> {
  const main = loaded[0];
  return {
    PHAROS_CONTAINER_REF: main?.ref ?? '',
    PHAROS_CONTAINER_DIGEST: main?.digest ?? '',
    PHAROS_CONTAINER_IMAGES: loaded.map((p) => `${p.image}=${p.ref}`).join(' '),
  };
}

