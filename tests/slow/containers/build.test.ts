/**
 * A real container image build (lib/containers/build.ts) of a tiny recipe from
 * the Debian mirror: mmdebstrap + umoci for real, then checked with other
 * tools — `skopeo inspect` reads the oci-archive (manifest digest, config) and
 * `umoci unpack` (as root) yields the COPY files with root ownership. A second
 * build is aborted while mmdebstrap is installing packages (its mounts are up):
 * the work tree is gone afterwards and nothing stays mounted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../lib/tools/exec.js';
import { readRecipe } from '../../../lib/containers/recipe.js';
import { buildContainerImage, DEFAULT_PATH, type BuiltContainerImage } from '../../../lib/containers/build.js';

let root = '';
let built: BuiltContainerImage | undefined;
const mirror = process.env.PHAROS_DEBIAN_MIRROR || undefined;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'pharos-container-it-'));
  const dir = join(root, 'containers', 'tiny');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'packages.txt'), '# the smallest useful image\nbusybox\n');
  await writeFile(join(dir, 'hello.txt'), 'hello from pharos\n');
  await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho run\n');
  await chmod(join(dir, 'run.sh'), 0o700);
  await writeFile(
    join(dir, 'Containerfile'),
    [
      'FROM debian:bookworm',
      'ENV GREETING="hello world"',
      'LABEL org.opencontainers.image.title=tiny',
      'WORKDIR /work',
      'USER 1000:1000',
      'CMD ["busybox", "sh", "-c", "cat /etc/hello.txt"]',
      'COPY hello.txt /etc/',
      'COPY run.sh /usr/local/bin/run',
      '',
    ].join('\n'),
  );
});

test.after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  return text.split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(dir));
}

test('a tiny recipe builds to an oci-archive that skopeo reads, with the recipe config', async () => {
  const recipe = await readRecipe(root, 'tiny');
  const out = join(root, 'out');
  await mkdir(out);
  const t0 = Date.now();
  built = await buildContainerImage({ recipe, outDir: out, mirror });
  process.stdout.write(`  (tiny image: ${((Date.now() - t0) / 1000).toFixed(0)} s, layers ${built.sizeBytes} B, unpacked ${built.unpackedBytes} B)\n`);
  assert.equal(await readdir(out), ['container-tiny.oci.tar'], 'only the archive is left in outDir');
  const ref = `oci-archive:${built.archive}:latest`;

  const raw = (await exec('skopeo', ['inspect', '--raw', ref])).stdout;
  assert.is(`sha256:${createHash('sha256').update(raw).digest('hex')}`, built.manifestDigest, 'the manifest skopeo reads is the one named by manifestDigest');
  const manifest = JSON.parse(raw) as { layers: Array<{ size: number; mediaType: string }> };
  assert.is(manifest.layers.length, 2, 'rootfs + COPY layer');
  assert.is(built.sizeBytes, manifest.layers[0]!.size + manifest.layers[1]!.size);
  assert.ok(built.unpackedBytes > built.sizeBytes);
  const inspect = JSON.parse((await exec('skopeo', ['inspect', ref])).stdout) as { Digest: string };
  assert.is(inspect.Digest, built.manifestDigest);

  const config = JSON.parse((await exec('skopeo', ['inspect', '--config', ref])).stdout) as {
    created: string;
    config: { Env: string[]; WorkingDir: string; User: string; Cmd: string[]; Labels: Record<string, string> };
  };
  assert.equal(config.config.Env, [`PATH=${DEFAULT_PATH}`, 'GREETING=hello world']);
  assert.is(config.config.WorkingDir, '/work');
  assert.is(config.config.User, '1000:1000');
  assert.equal(config.config.Cmd, ['busybox', 'sh', '-c', 'cat /etc/hello.txt']);
  assert.equal(config.config.Labels, { 'org.opencontainers.image.title': 'tiny' });
  assert.is(config.created, '2024-01-01T00:00:00Z');
});

test('umoci unpack yields the COPY files, root-owned, and a lean rootfs', async () => {
  if (!built) throw new Error('no image (the build test failed)');
  const layout = join(root, 'layout');
  await mkdir(layout);
  await exec('tar', ['-C', layout, '-xf', built.archive]);
  const bundle = join(root, 'bundle');
  await exec('umoci', ['unpack', `--image=${layout}:latest`, bundle]);
  const fs = join(bundle, 'rootfs');
  assert.is(await readFile(join(fs, 'etc/hello.txt'), 'utf8'), 'hello from pharos\n');
  const hello = await stat(join(fs, 'etc/hello.txt'));
  assert.is(hello.uid, 0);
  assert.is(hello.gid, 0);
  assert.is(hello.mode & 0o777, 0o644);
  assert.is((await stat(join(fs, 'usr/local/bin/run'))).mode & 0o777, 0o755);
  assert.is((await stat(join(fs, 'etc'))).mode & 0o777, 0o755, 'the rootfs directory keeps its mode (no directory entries in the COPY layer)');
  assert.ok((await stat(join(fs, 'bin/busybox'))).isFile(), 'the package from packages.txt is installed');
  assert.equal(await readdir(join(fs, 'dev')), [], 'no device nodes in the layer');
  assert.equal(await readdir(join(fs, 'var/lib/apt/lists')).then((l) => l.filter((f) => f !== 'partial' && f !== 'lock')), []);
  assert.not.ok(await stat(join(fs, 'etc/resolv.conf')).then(() => true, () => false), 'no host resolv.conf');
  const docs = await readdir(join(fs, 'usr/share/doc/busybox'));
  assert.equal(docs, ['copyright'], 'dpkg kept only the copyright file');
});

test('an aborted build leaves no work tree and no mounts', async () => {
  const recipe = await readRecipe(root, 'tiny');
  const out = join(root, 'out-abort');
  await mkdir(out);
  const ac = new AbortController();
  let sawInstall = false;
  const r = await buildContainerImage({
    recipe,
    outDir: out,
    mirror,
    signal: ac.signal,
    onLine: (l) => {
      // mmdebstrap's mount stage is done and dpkg runs in the chroot.
      if (/installing (essential|remaining) packages/.test(l) && !sawInstall) {
        sawInstall = true;
        ac.abort();
      }
    },
  }).then(
    () => 'built',
    (e: unknown) => (e as Error).message,
  );
  assert.ok(sawInstall, 'the abort came while packages were being installed');
  assert.is.not(r, 'built');
  assert.equal(await readdir(out), [], 'the work tree is removed');
  assert.equal(await mountsUnder(out), []);
});

test.run();
