/**
 * The push records the suites read when they run outside the graph: written
 * atomically per image, read back in name order, torn or foreign files left
 * out; the environment names the default image (pytorch) first of all.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { containerEnv, pushRecordsDir, readPushes, recordPush, type PushedImage } from '../../../lib/suites/images.js';

const img = (image: string): PushedImage => ({
  image,
  ref: `10.77.0.10:5000/pharos/${image}@sha256:${'a'.repeat(64)}`,
  tagRef: `10.77.0.10:5000/pharos/${image}:latest`,
  digest: `sha256:${'a'.repeat(64)}`,
});

test('records round-trip; torn files are ignored; the default image leads the env', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pharos-pushes-'));
  try {
    assert.equal(await readPushes(dir, 'pharos'), []);
    assert.equal(containerEnv([]), { PHAROS_CONTAINER_REF: '', PHAROS_CONTAINER_IMAGES: '' });
    await recordPush(dir, 'pharos', img('tiny'));
    await recordPush(dir, 'pharos', img('pytorch'));
    await writeFile(join(pushRecordsDir(dir, 'pharos'), 'torn.json'), '{"image": "x", "ref"');
    await writeFile(join(pushRecordsDir(dir, 'pharos'), 'other.json'), '{"image": 3}');
    const got = await readPushes(dir, 'pharos');
    assert.equal(got.map((p) => p.image), ['pytorch', 'tiny']);
    const env = containerEnv([img('tiny'), img('pytorch')]);
    assert.is(env.PHAROS_CONTAINER_REF, img('pytorch').ref);
    assert.is(env.PHAROS_CONTAINER_IMAGES, `tiny=${img('tiny').ref} pytorch=${img('pytorch').ref}`);
    assert.is(containerEnv([img('tiny')]).PHAROS_CONTAINER_REF, img('tiny').ref);
    assert.equal(await readPushes(dir, 'other-cluster'), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
