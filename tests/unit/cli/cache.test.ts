/**
 * `pharos cache list|prune`, through the real bin, on a real store made with
 * qemu-img: prune keeps the N newest entries of each image, every entry a VM
 * disk (a real qcow2 overlay named in a cluster's state) runs on, and a store
 * still in progress (temp files only); `-n` removes nothing.
 */
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exec } from '../../../lib/tools/exec.js';
import { cli, tempRoot } from '../engine/helpers.js';
import { requireTool } from '../ansible/helpers.js';

const root = tempRoot('pharos-cache-');
const cacheDir = join(root, 'cache');
const stateRoot = join(root, 'state');
const env = { PHAROS_CACHE: cacheDir, PHAROS_STATE_DIR: stateRoot };
const DAY = 86_400_000;

async function entry(key: string, files: string[], ageDays: number): Promise<string> {
  const dir = join(cacheDir, 'images', key);
  mkdirSync(dir, { recursive: true });
  const t = new Date(Date.now() - ageDays * DAY);
  for (const f of files) {
    const p = join(dir, f);
    if (f.endsWith('.qcow2')) await exec('qemu-img', ['create', '-q', '-f', 'qcow2', p, '1M']);
    else writeFileSync(p, `${f}\n`);
    utimesSync(p, t, t);
  }
  return dir;
}

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, ['cache', ...args], env);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

const dirs: Record<string, string> = {};

test('setup: four entries, one in use by a VM, one store in progress', async () => {
  await requireTool('qemu-img', 'qemu-utils');
  dirs.old = await entry('k1old', ['hpc-compute.qcow2', 'hpc-compute.qcow2.sha256', 'vmlinuz', 'initrd.img'], 3);
  dirs.newest = await entry('k2new', ['hpc-compute.qcow2', 'vmlinuz', 'initrd.img'], 1);
  dirs.used = await entry('k3used', ['hpc-compute.qcow2'], 5);
  dirs.base = await entry('k4base', ['debian.qcow2'], 9);
  dirs.partial = join(cacheDir, 'images', 'k5partial');
  mkdirSync(dirs.partial);
  writeFileSync(join(dirs.partial, 'hpc-compute.qcow2.tmp-123-456'), '');
  // A VM whose disk is an overlay on k3's image, as ensureDisk makes it.
  const disk = join(root, 'pool', 'c-compute-01.qcow2');
  mkdirSync(join(root, 'pool'));
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(dirs.used, 'hpc-compute.qcow2'), disk]);
  mkdirSync(join(stateRoot, 'clusters', 'c'), { recursive: true });
  const vm = { name: 'c-compute-01', shortName: 'compute-01', ip: '192.168.100.11', mac: '52:54:00:00:00:11', sshHost: '127.0.0.1', sshPort: 2222, disk, consoleLog: join(root, 'c.log'), pci: [] };
  writeFileSync(join(stateRoot, 'clusters', 'c', 'state.json'), JSON.stringify({
    version: 1, cluster: 'c', uri: 'test:///default', networkMode: 'user', network: 'c-net', pool: 'c-pool', poolDir: join(root, 'pool'),
    vms: { [vm.name]: vm }, updatedAt: new Date().toISOString(),
  }));
});

test('list: entries with image, size, users; a store in progress is not one', async () => {
  const r = await run(['list', '--json']);
  assert.is(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { cacheDir: string; entries: { key: string; image: string; bytes: number; usedBy: string[] }[] };
  assert.is(doc.cacheDir, cacheDir);
  assert.equal(doc.entries.map((e) => `${e.key} ${e.image}`), ['k4base debian.qcow2', 'k2new hpc-compute.qcow2', 'k1old hpc-compute.qcow2', 'k3used hpc-compute.qcow2']);
  assert.equal(doc.entries.find((e) => e.key === 'k3used')?.usedBy, ['c-compute-01']);
  assert.ok(doc.entries.every((e) => e.bytes > 0), 'sizes on disk');
  const text = await run(['list']);
  assert.match(text.out, /^k3used\s+hpc-compute\.qcow2\s+.*used by c-compute-01$/m);
  assert.match(text.out, /^4 entries, .* in .*cache\/images$/m);
});

test('prune -n removes nothing; prune keeps the newest of each image and what a VM uses', async () => {
  let r = await run(['prune', '-n']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^would remove k1old\s+hpc-compute\.qcow2/m);
  assert.match(r.out, /^kept k3used\s+hpc-compute\.qcow2: used by c-compute-01$/m);
  assert.ok(existsSync(dirs.old!), 'dry run removed nothing');
  r = await run(['prune']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^removed 1 entry \(.*\), kept 3$/m);
  assert.not.ok(existsSync(dirs.old!));
  for (const k of ['newest', 'used', 'base', 'partial']) assert.ok(existsSync(dirs[k]!), `${k} kept`);
  r = await run(['prune', '--keep', '0', '--json']);
  assert.is(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { removed: { key: string }[]; kept: { key: string }[] };
  assert.equal(doc.removed.map((e) => e.key).sort(), ['k2new', 'k4base']);
  assert.equal(doc.kept.map((e) => e.key), ['k3used']);
  assert.ok(existsSync(dirs.used!) && existsSync(dirs.partial!), 'in use and in progress survive --keep 0');
});

test('--keep takes an integer >= 0 (usage error: exit 2)', async () => {
  for (const v of ['-1', 'x', '1.5']) {
    const r = await run(['prune', '--keep', v]);
    assert.is(r.code, 2, `--keep ${v}: ${r.err}`);
  }
});

test.run();
