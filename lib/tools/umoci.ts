/**
 * Thin typed wrapper over `umoci` (Debian package `umoci`): an OCI image layout
 * on disk, built without a daemon. Pharos uses `init`, `new`, `raw add-layer`
 * (layers are tarballs it made itself), `config` and `gc`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PharosError } from '../errors.js';
import { exec } from './exec.js';

export interface UmociRun {
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

/** `<layout>:<tag>` as umoci's `--image` takes it. */
export const imageRef = (layout: string, tag = 'latest'): string => `${layout}:${tag}`;

export async function umoci(args: string[], o: UmociRun = {}): Promise<void> {
  await exec('umoci', args, {
    signal: o.signal,
    onLine: o.onLine ? (l) => o.onLine?.(l) : undefined,
    timeoutMs: 20 * 60_000,
    timeoutWhat: `umoci ${args[0] ?? ''}`,
    pkg: 'umoci',
  });
}

/** What `umoci config` sets; every field optional (unset = left as it is). */
export interface ImageConfig {
  env?: ReadonlyArray<readonly [string, string]>;
  workdir?: string;
  user?: string;
  cmd?: readonly string[];
  entrypoint?: readonly string[];
  labels?: ReadonlyArray<readonly [string, string]>;
  /** RFC 3339 time for the config and its history entry. */
  created?: string;
}

/**
 * `umoci config` arguments. Every value goes as `--flag=value` (one argv
 * element, so a value starting with `-` stays a value; commas are kept).
 * umoci drops an empty `--config.cmd=`, so callers refuse empty arguments.
 */
export function configArgs(ref: string, c: ImageConfig): string[] {
  const a = ['config', `--image=${ref}`];
  for (const [k, v] of c.env ?? []) a.push(`--config.env=${k}=${v}`);
  if (c.workdir !== undefined) a.push(`--config.workingdir=${c.workdir}`);
  if (c.user !== undefined) a.push(`--config.user=${c.user}`);
  if (c.entrypoint) {
    a.push('--clear=config.entrypoint');
    for (const x of c.entrypoint) a.push(`--config.entrypoint=${x}`);
  }
  if (c.cmd) {
    a.push('--clear=config.cmd');
    for (const x of c.cmd) a.push(`--config.cmd=${x}`);
  }
  for (const [k, v] of c.labels ?? []) a.push(`--config.label=${k}=${v}`);
  if (c.created) a.push(`--created=${c.created}`, `--history.created=${c.created}`);
  a.push('--history.created_by=pharos: image config from the Containerfile');
  return a;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface LayoutManifest {
  /** `sha256:…` of the manifest blob. */
  digest: string;
  /** Compressed size of each layer, in order. */
  layerSizes: number[];
  configDigest: string;
}

function blobPath(layout: string, digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new PharosError(`${layout}: unexpected digest ${JSON.stringify(digest)} in the OCI layout`);
  return path.join(layout, 'blobs', 'sha256', m[1] ?? '');
}

/** The manifest tagged `tag` in an OCI layout (index.json → manifest blob). */
export async function readManifest(layout: string, tag = 'latest'): Promise<LayoutManifest> {
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests?: Descriptor[] };
  const d = (index.manifests ?? []).find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!d) throw new PharosError(`${layout}/index.json has no manifest tagged ${tag}`);
  const manifest = JSON.parse(await readFile(blobPath(layout, d.digest), 'utf8')) as { config: Descriptor; layers: Descriptor[] };
  return { digest: d.digest, layerSizes: manifest.layers.map((l) => l.size), configDigest: manifest.config.digest };
}
