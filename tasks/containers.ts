/**
 * Container image targets: one `image:container:<name>` per `containers/<name>/`
 * directory (recipe format: lib/containers/recipe.ts; build: lib/containers/build.ts).
 *
 * The result is one `oci-archive` file in the machine cache,
 * `<cache>/images/<key>/container-<name>.oci.tar` (+ `.sha256`), under a key
 * made like the VM images' (tasks/images.ts imageKey): the recipe directory's
 * files (Containerfile, packages.txt, COPY sources), the build code, the mirror
 * and the versions of mmdebstrap, umoci and tar. A push reads it with
 * `skopeo copy oci-archive:<archive>:latest docker://…` (see ociArchiveRef).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { target, type Target } from '../lib/index.js';
import { PharosError } from '../lib/errors.js';
import { removeWorkTree } from '../lib/images/base.js';
import { cacheLookup, cachePath, storeInCache } from '../lib/images/store.js';
import { writeFileAtomic } from '../lib/util/atomic.js';
import { buildContainerImage } from '../lib/containers/build.js';
import { CONTAINER_NAME_RE, readRecipe } from '../lib/containers/recipe.js';
import type { HostTargets } from './host.js';
import { imageKey } from './images.js';

export interface ContainerImageOut {
  /** Absolute path of the oci-archive in the machine cache. */
  archive: string;
  /** `sha256:…` of the image manifest (what a registry names the image by). */
  manifestDigest: string;
  /** Compressed layers, total bytes. */
  sizeBytes: number;
  /** Uncompressed layer tarballs, total bytes. */
  unpackedBytes: number;
  name: string;
}

/** `oci-archive:<archive>:latest`: the image as skopeo reads it. */
export function ociArchiveRef(out: Pick<ContainerImageOut, 'archive'>): string {
  return `oci-archive:${out.archive}:latest`;
}

/** The code whose content shapes an image (joins the target's inputs and the cache key). */
export const CONTAINER_BUILD_INPUTS: readonly string[] = ['lib/containers/recipe.ts', 'lib/containers/build.ts', 'lib/tools/mmdebstrap.ts', 'lib/tools/umoci.ts'];

const TOOLS: string[][] = [['mmdebstrap', '--version'], ['umoci', '--version'], ['tar', '--version']];

/** Inputs of `image:container:<name>`: its recipe directory and the build code. */
export function containerInputs(name: string): string[] {
  return [`containers/${name}/**`, ...CONTAINER_BUILD_INPUTS];
}

/**
 * The machine-cache key of a container image (see imageKey): its inputs' content,
 * its suite and mirror, and the mmdebstrap, umoci and tar versions.
 */
export async function containerKey(root: string, name: string, suite: string, mirror: string | undefined): Promise<string> {
  return imageKey(root, containerInputs(name), { container: name, suite, mirror: mirror ?? '' }, TOOLS);
}

/** Names of the recipe directories under `<root>/containers/` (hidden ones skipped). */
export async function containerNames(root: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(path.join(root, 'containers'), { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const names: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    if (!CONTAINER_NAME_RE.test(e.name)) {
      throw new PharosError(`containers/${e.name}: ${JSON.stringify(e.name)} is not a container image name`, {
        problems: [{ file: `containers/${e.name}`, field: 'name', message: 'bad recipe directory name', expected: `a name matching ${CONTAINER_NAME_RE.source}` }],
        hint: 'rename the directory (lower case letters, digits and -, a letter first), e.g. containers/pytorch',
        exitCode: 2,
      });
    }
    names.push(e.name);
  }
  return names.sort();
}

type ImageFacts = Pick<ContainerImageOut, 'manifestDigest' | 'sizeBytes' | 'unpackedBytes'>;

/** `<archive>.meta.json`: what a cache hit returns without reading the archive. */
async function readFacts(archive: string): Promise<ImageFacts | undefined> {
  try {
    const v = JSON.parse(await readFile(`${archive}.meta.json`, 'utf8')) as Partial<Record<keyof ImageFacts, unknown>>;
    const { manifestDigest, sizeBytes, unpackedBytes } = v;
    if (typeof manifestDigest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(manifestDigest)) return undefined;
    if (typeof sizeBytes !== 'number' || typeof unpackedBytes !== 'number') return undefined;
    return { manifestDigest, sizeBytes, unpackedBytes };
  } catch {
    return undefined;
  }
}

export interface ContainerTargetOptions {
  /** The config's mirror (global.base_image.mirror); $PHAROS_DEBIAN_MIRROR wins, as for image:base. */
  mirror?: string;
}

export function containerImageTarget(name: string, host: HostTargets, opts: ContainerTargetOptions = {}): Target<ContainerImageOut> {
  const inputs = containerInputs(name);
  const archiveName = `container-${name}.oci.tar`;
  return target<ContainerImageOut>({
    name: `image:container:${name}`,
    description: `OCI image from containers/${name}/ (mmdebstrap + umoci, oci-archive in the machine cache)`,
    after: [host.packages],
    inputs,
    params: { name, mirror: opts.mirror ?? '' },
    tools: ['mmdebstrap', 'umoci', 'tar'],
    env: ['PHAROS_DEBIAN_MIRROR'],
    pool: 'image',
    outputFiles: (o) => [o.archive],
    run: async (ctx) => {
      const recipe = await readRecipe(ctx.root, name);
      const mirror = process.env.PHAROS_DEBIAN_MIRROR || opts.mirror || undefined;
      const key = await containerKey(ctx.root, name, recipe.suite, mirror);
      const stored = await cacheLookup(ctx.cacheDir, key, archiveName);
      if (stored) {
        const facts = await readFacts(stored);
        if (facts) {
          ctx.log(`image:container:${name} found in the machine cache (${stored})`);
          return { ...facts, archive: stored, name };
        }
        // An archive without its facts (a store cut short): build it again.
        for (const f of [stored, `${stored}.sha256`, `${stored}.meta.json`]) await rm(f, { force: true });
      }
      const work = path.join(ctx.cacheDir, 'work', `container-${name}-${key.slice(0, 16)}`);
      await removeWorkTree(work);
      await mkdir(work, { recursive: true });
      try {
        ctx.phase('mmdebstrap');
        const t0 = Date.now();
        const img = await buildContainerImage({
          recipe,
          outDir: work,
          mirror,
          signal: ctx.signal,
          onLine: ctx.log,
          onPhase: (p) => ctx.phase(p),
        });
        ctx.log(`pharos: built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        ctx.phase('storing');
        const meta = { manifestDigest: img.manifestDigest, sizeBytes: img.sizeBytes, unpackedBytes: img.unpackedBytes };
        // The facts go first, like the sha256 sidecar: an archive is never found without them.
        const dest = cachePath(ctx.cacheDir, key, archiveName);
        await mkdir(path.dirname(dest), { recursive: true });
        await writeFileAtomic(`${dest}.meta.json`, `${JSON.stringify(meta)}\n`);
        const archive = await storeInCache(ctx.cacheDir, img.archive, key, { move: true, name: archiveName, sha256: img.archiveSha256 });
        return { ...meta, archive, name };
      } finally {
        await removeWorkTree(work);
      }
    },
  });
}

/**
 * One target per `containers/<name>/`, keyed by name. The main graph puts them
 * in `targets` (and so in the `images` alias); a registry push depends on one.
 */
export async function containerImageTargets(root: string, host: HostTargets, opts: ContainerTargetOptions = {}): Promise<Map<string, Target<ContainerImageOut>>> {
  const out = new Map<string, Target<ContainerImageOut>>();
  for (const name of await containerNames(root)) out.set(name, containerImageTarget(name, host, opts));
  return out;
}
