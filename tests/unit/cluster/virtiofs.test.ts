/**
 * virtio-fs host directories before a VM is defined, on the real file system:
 * a missing host_path is one PharosError naming the config field (and the VM
 * start stops there, having made nothing); `create: true` makes it (mkdir -p,
 * mode 0755 whatever the umask) and its undo removes it again only while it is
 * empty.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PharosError } from '../../../lib/errors.js';
import { ensureVirtiofsDirs } from '../../../lib/cluster/virtiofs.js';
import { convergeVm } from '../../../lib/cluster/vm.js';
import { clusterEnv, UndoStack } from '../../../lib/cluster/ops.js';
import type { VirtiofsMountPlan } from '../../../lib/model.js';
import { localUserPlan } from '../libvirt/plans.js';

const root = mkdtempSync(join(tmpdir(), 'pht-vfs-dirs-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const FIELD = 'clusters.hpc.controller.virtio_fs_mounts[0].host_path';
const mount = (hostPath: string, create?: boolean): VirtiofsMountPlan => ({ tag: 'data', hostPath, mountPoint: '/data', field: FIELD, ...(create ? { create } : {}) });

async function refusal(p: Promise<unknown>): Promise<PharosError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  assert.ok(e instanceof PharosError, `expected a PharosError, got ${String(e)}`);
  return e as PharosError;
}

test('a missing host_path without create: one error naming the field, nothing created', async () => {
  const p = join(root, 'missing', 'dir');
  const e = await refusal(ensureVirtiofsDirs({ name: 'c-controller', virtiofs: [mount(p)] }));
  assert.match(e.message, `${FIELD}: virtio-fs host_path ${p} of c-controller does not exist`);
  assert.match(e.hint ?? '', 'create: true');
  assert.not.ok(existsSync(join(root, 'missing')));
});

test('a host_path that is a file is refused', async () => {
  const f = join(root, 'a-file');
  writeFileSync(f, 'x');
  const e = await refusal(ensureVirtiofsDirs({ name: 'c-controller', virtiofs: [mount(f, true)] }));
  assert.match(e.message, 'is not a directory');
});

test('create: true makes the directory 0755 (under umask 077 too); an existing one is left alone', async () => {
  const p = join(root, 'made', 'a', 'b');
  const old = process.umask(0o077);
  try {
    const r = await ensureVirtiofsDirs({ name: 'c-controller', virtiofs: [mount(p, true)] });
    assert.equal(r.created, [p]);
  } finally {
    process.umask(old);
  }
  for (const d of [join(root, 'made'), join(root, 'made', 'a'), p]) assert.is(statSync(d).mode & 0o777, 0o755, d);
  const again = await ensureVirtiofsDirs({ name: 'c-controller', virtiofs: [mount(p, true)] });
  assert.equal(again.created, []);
});

test('undo removes what create made while empty, and keeps it once the guest wrote into it', async () => {
  const log = () => undefined;
  const empty = join(root, 'undo-empty', 'x');
  const u1 = new UndoStack();
  await ensureVirtiofsDirs({ name: 'n', virtiofs: [mount(empty, true)] }, u1);
  await u1.run(log);
  assert.not.ok(existsSync(join(root, 'undo-empty')), 'the whole created chain is gone');

  const used = join(root, 'undo-used', 'x');
  const u2 = new UndoStack();
  await ensureVirtiofsDirs({ name: 'n', virtiofs: [mount(used, true)] }, u2);
  writeFileSync(join(used, 'result.txt'), 'data');
  await u2.run(log);
  assert.equal(readdirSync(used), ['result.txt']);
});

test('the VM start checks host paths before it makes anything', async () => {
  const plan = localUserPlan();
  const node = plan.nodes[0]!;
  node.virtiofs = [mount(join(root, 'not-there'))];
  const stateRoot = join(root, 'state');
  const dataRoot = join(root, 'data');
  mkdirSync(stateRoot);
  const env = clusterEnv(plan, { stateRoot, dataRoot, log: () => undefined });
  const e = await refusal(convergeVm(plan, node, { image: '/nonexistent/base.qcow2' }, env, { publicKey: 'ssh-ed25519 AAAA k', sshPort: 22200, probe: { exists: false } }));
  assert.match(e.message, `${FIELD}: virtio-fs host_path`, e.message);
  assert.not.ok(existsSync(dataRoot), 'no pool directory or disk was made');
});

test.run();
