/**
 * The container images a cloud cluster's containerd holds (imported by the
 * `preload:<cluster>:<image>` targets, tasks/preload.ts), as the cloud suites
 * see them. Each preload records what it imported under
 * `.pharos/clusters/<cluster>/preloads/<image>.json`, for the suites run
 * outside the graph (`pharos test run-test`).
 */
import path from 'node:path';
import { readImageRecords, writeImageRecord } from './images.js';

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
  await writeImageRecord(preloadRecordsDir(stateDir, cluster), p);
}

function isPreload(v: unknown): v is PreloadOut {
  const o = v as Record<string, unknown> | null;
  return !!o && typeof o.image === 'string' && typeof o.ref === 'string' && typeof o.digest === 'string' && Array.isArray(o.nodes);
}

/** The records of a cluster's preloads, by image name; none (or unreadable): []. */
export function readPreloads(stateDir: string, cluster: string): Promise<PreloadOut[]> {
  return readImageRecords(preloadRecordsDir(stateDir, cluster), isPreload);
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
