/**
 * ensureDisk with the real qemu-img: the overlay is never smaller than its
 * backing image's virtual size, whatever disk_gb says, and an overlay left
 * smaller than its (rebuilt, larger) image grows to it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import * as qemuImg from '../../../lib/tools/qemu-img.js';
import { clusterEnv, ensureDisk } from '../../../lib/cluster/ops.js';
import { URI } from './helpers.js';

const GiB = 1024 ** 3;
const root = mkdtempSync(join(tmpdir(), 'pht-disk-'));
const name = `pht-${randomBytes(3).toString('hex')}`;
const env = clusterEnv({ name, libvirtUri: URI, acceleration: 'tcg' }, { stateRoot: join(root, 'state'), dataRoot: join(root, 'data') });
mkdirSync(env.paths.poolDir, { recursive: true });

test.after(() => rmSync(root, { recursive: true, force: true }));

test('an image larger than disk_gb: the overlay takes the image size', async () => {
  const base = join(root, 'big-base.qcow2');
  await qemuImg.create(base, 3 * GiB);
  const node = { name: `${name}-controller`, diskGb: 1 };
  const r = await ensureDisk(node, base, env);
  assert.is(r.action, 'created');
  assert.is(r.sizeBytes, 3 * GiB);
  assert.is((await qemuImg.info(r.path)).virtualSize, 3 * GiB);
  assert.match(r.message, "3 GiB (the image's size; disk_gb is 1)");
});

test('disk_gb larger than the image: the overlay takes disk_gb', async () => {
  const base = join(root, 'small-base.qcow2');
  await qemuImg.create(base, 64 * 1024 * 1024);
  const r = await ensureDisk({ name: `${name}-compute-01`, diskGb: 2 }, base, env);
  assert.is((await qemuImg.info(r.path)).virtualSize, 2 * GiB);
  assert.match(r.message, '2 GiB');
});

test('an overlay smaller than its rebuilt, larger image grows to the image size', async () => {
  const base = join(root, 'growing-base.qcow2');
  await qemuImg.create(base, GiB);
  const node = { name: `${name}-compute-02`, diskGb: 1 };
  const first = await ensureDisk(node, base, env);
  assert.is((await qemuImg.info(first.path)).virtualSize, GiB);
  // The image is rebuilt in place, larger (same path, so the overlay is kept).
  rmSync(base);
  await qemuImg.create(base, 2 * GiB);
  const again = await ensureDisk(node, base, env);
  assert.is(again.action, 'unchanged');
  assert.is((await qemuImg.info(again.path)).virtualSize, 2 * GiB);
  assert.match(again.message, 'grown to 2 GiB');
});

test.run();
