/**
 * `image:container:<name>` through the real engine (tasks/containers.ts): a
 * cache entry with its facts is returned without building; an archive whose
 * `.meta.json` is missing (a store cut short) is dropped and rebuilt — here
 * against a mirror that does not exist, so real mmdebstrap fails fast and the
 * work tree goes with it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, target, type Target } from '../../../lib/index.js';
import { cachePath } from '../../../lib/images/store.js';
import { hostTargets } from '../../../tasks/host.js';
import { containerImageTargets, containerKey, ociArchiveRef, type ContainerImageOut } from '../../../tasks/containers.js';

const NO_MIRROR = 'file:///nonexistent/pharos-test-mirror';
let root = '';

test.before(async () => {
  delete process.env.PHAROS_DEBIAN_MIRROR;
  root = await mkdtemp(join(tmpdir(), 'pharos-ct-target-'));
  await mkdir(join(root, 'containers', 'tiny'), { recursive: true });
  await mkdir(join(root, 'scripts'));
  await writeFile(join(root, 'scripts', 'host-packages.txt'), 'tar\n');
  await writeFile(join(root, 'containers', 'tiny', 'Containerfile'), 'FROM debian:bookworm\nCMD ["busybox"]\n');
  await writeFile(join(root, 'containers', 'tiny', 'packages.txt'), 'busybox\n');
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function build(cacheDir: string): Promise<{ ok: boolean; error?: string; out?: ContainerImageOut }> {
  const host = hostTargets({ root, libvirtUri: 'test:///default', acceleration: 'tcg' });
  const images = await containerImageTargets(root, host, { mirror: NO_MIRROR });
  assert.equal([...images.keys()], ['tiny']);
  const img = images.get('tiny') as Target<ContainerImageOut>;
  assert.is(img.name, 'image:container:tiny');
  let out: ContainerImageOut | undefined;
  const sink = target({ name: 'sink', deps: { img }, always: true, run: async (ctx) => ((out = ctx.deps.img), 1) });
  const engine = createEngine({ root, definition: { targets: [host.packages, img, sink], pools: { image: 1 } }, cacheDir, jobs: 1, stateDir: join(cacheDir, 'state') });
  const s = await engine.build(['sink']);
  return { ok: s.ok, error: s.targets['image:container:tiny']?.error, out };
}

test('a cached archive with its facts is the output; nothing is built', async () => {
  const cacheDir = join(root, 'cache-hit');
  const key = await containerKey(root, 'tiny', 'bookworm', NO_MIRROR);
  const archive = cachePath(cacheDir, key, 'container-tiny.oci.tar');
  await mkdir(join(archive, '..'), { recursive: true });
  await writeFile(archive, 'not really an archive');
  const facts = { manifestDigest: `sha256:${'a'.repeat(64)}`, sizeBytes: 10, unpackedBytes: 20 };
  await writeFile(`${archive}.meta.json`, JSON.stringify(facts));
  const r = await build(cacheDir);
  assert.ok(r.ok, r.error);
  assert.equal(r.out, { ...facts, archive, name: 'tiny' });
  assert.is(ociArchiveRef(r.out!), `oci-archive:${archive}:latest`);
  assert.not.ok(await stat(join(cacheDir, 'work')).then(() => true, () => false), 'no work tree: nothing was built');
});

test('an archive without its facts is dropped and rebuilt; a failed build leaves no work tree', async () => {
  const cacheDir = join(root, 'cache-cut');
  const key = await containerKey(root, 'tiny', 'bookworm', NO_MIRROR);
  const archive = cachePath(cacheDir, key, 'container-tiny.oci.tar');
  await mkdir(join(archive, '..'), { recursive: true });
  await writeFile(archive, 'half a store');
  const r = await build(cacheDir);
  assert.not.ok(r.ok);
  assert.match(r.error ?? '', /mmdebstrap/);
  assert.equal(await readdir(join(archive, '..')), [], 'the archive without facts is gone');
  assert.equal(await readdir(join(cacheDir, 'work')), [], 'the work tree is removed');
});

test.run();
