/**
 * Cluster state files, GPU ownership record, port allocation, MACs, SSH
 * readiness against a local banner server, and qemu-img wrappers (real qemu-img).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync, statSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readState, writeState, readGpuOwners, writeGpuOwners, listStates, type ClusterState } from '../../../lib/cluster/state.js';
import { allocatePorts, portIsFree, PORT_BASE, PORT_SPAN } from '../../../lib/libvirt/alloc.js';
import { qemuMacFor as macFor } from '../../../lib/config/plan.js';
import { waitForSsh, UndoStack } from '../../../lib/cluster/ops.js';
import { ensureClusterKey, pinHost, unpinHost, isPinned } from '../../../lib/cluster/identity.js';
import { clusterPaths } from '../../../lib/cluster/paths.js';
import * as qemuImg from '../../../lib/tools/qemu-img.js';

const made: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'pht-unit-'));
  made.push(d);
  return d;
};
test.after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function state(cluster: string, ports: number[]): ClusterState {
  const vms: ClusterState['vms'] = {};
  ports.forEach((p, i) => {
    vms[`${cluster}-n${i}`] = { name: `${cluster}-n${i}`, shortName: `n${i}`, ip: `10.0.0.${i + 10}`, mac: macFor(`n${i}`), sshHost: '127.0.0.1', sshPort: p, disk: '/x', consoleLog: '/y', pci: [] };
  });
  return { version: 1, cluster, uri: 'qemu:///system', networkMode: 'user', network: `${cluster}-cluster`, pool: `${cluster}-pool`, poolDir: '/p', vms, updatedAt: '' };
}

test('state is written atomically with a backup, and a corrupt file falls back to it', async () => {
  const root = tmp();
  const f = join(root, 'clusters', 'a', 'state.json');
  await writeState(f, state('a', [22201]));
  await writeState(f, state('a', [22202]));
  assert.is(JSON.parse(readFileSync(`${f}.backup`, 'utf8')).vms['a-n0'].sshPort, 22201);
  assert.is((await readState(f))!.vms['a-n0']!.sshPort, 22202);
  assert.is(statSync(f).mode & 0o777, 0o600);
  writeFileSync(f, '{ half-writ');
  assert.is((await readState(f))!.vms['a-n0']!.sshPort, 22201, 'falls back to the backup');
  assert.equal((await listStates(root)).map((s) => s.cluster), ['a']);
});

test('GPU owners round-trip', async () => {
  const root = tmp();
  assert.equal(await readGpuOwners(root), {});
  await writeGpuOwners(root, { '0000:01:00.0': { vm: 'hpc-compute-01', cluster: 'hpc', uri: 'qemu:///system', since: 'now' } });
  assert.is((await readGpuOwners(root))['0000:01:00.0']!.vm, 'hpc-compute-01');
});

test('MACs: stable, unicast, locally administered, distinct per purpose', () => {
  const a = macFor('hpc-compute-01');
  assert.is(a, macFor('hpc-compute-01'));
  assert.match(a, /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.is.not(a, macFor('hpc-compute-01', 'mgmt'));
  assert.is.not(a, macFor('hpc-compute-02'));
});

test('ports: recorded ones kept, taken and bound ones skipped, stable first choice', async () => {
  const first = await allocatePorts([{ vm: 'x-a' }], new Set());
  const p = first.get('x-a')!;
  assert.ok(p >= PORT_BASE && p < PORT_BASE + PORT_SPAN);
  assert.is((await allocatePorts([{ vm: 'x-a' }], new Set())).get('x-a'), p, 'same VM, same port');
  // another cluster records p: skip it
  const other = (await allocatePorts([{ vm: 'x-a' }], new Set([p]))).get('x-a')!;
  assert.is.not(other, p);
  // something really listens on p: skip it
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(p, '127.0.0.1', () => r()));
  try {
    assert.not.ok(await portIsFree(p));
    assert.is.not((await allocatePorts([{ vm: 'x-a' }], new Set())).get('x-a'), p);
    // ...unless it is this VM's recorded port (its own QEMU listens there)
    assert.is((await allocatePorts([{ vm: 'x-a', recorded: p }], new Set())).get('x-a'), p);
  } finally {
    srv.close();
  }
  const many = await allocatePorts(['a', 'b', 'c', 'd'].map((vm) => ({ vm })), new Set());
  assert.is(new Set(many.values()).size, 4);
});

test('waitForSsh: reads a real banner; a silent port times out naming what it waited for', async () => {
  const banner = createServer((s) => s.end('SSH-2.0-Fake_1.0\r\n'));
  const silent = createServer(() => {
    /* accepts, never speaks: what QEMU hostfwd does before the guest is up */
  });
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  const bp = (banner.address() as { port: number }).port;
  const sp = (silent.address() as { port: number }).port;
  try {
    const r = await waitForSsh('127.0.0.1', bp, 5000);
    assert.is(r.banner, 'SSH-2.0-Fake_1.0');
    const err = await waitForSsh('127.0.0.1', sp, 1500).then(() => undefined, (e: Error) => e);
    assert.ok(err);
    assert.match(err!.message, `SSH banner on 127.0.0.1:${sp}`);
  } finally {
    banner.close();
    silent.close();
  }
});

test('undo stack runs newest first and collects failures', async () => {
  const seen: string[] = [];
  const u = new UndoStack();
  u.push('a', async () => void seen.push('a'));
  u.push('b', async () => {
    throw new Error('boom');
  });
  u.push('c', async () => void seen.push('c'));
  const failed = await u.run(() => {});
  assert.equal(seen, ['c', 'a']);
  assert.equal(failed, ['b: boom']);
});

test('cluster key pair (0600) and known_hosts pinning', async () => {
  const root = tmp();
  const paths = clusterPaths('k', root, root);
  const k1 = await ensureClusterKey(paths, 'pharos-k');
  assert.ok(k1.created);
  assert.match(k1.publicKey, /^ssh-ed25519 \S+ pharos-k$/);
  assert.is(statSync(paths.privateKey).mode & 0o777, 0o600);
  const k2 = await ensureClusterKey(paths, 'pharos-k');
  assert.not.ok(k2.created);
  assert.is(k2.publicKey, k1.publicKey);
  const pats = ['[127.0.0.1]:22201', 'k-controller'];
  await pinHost(paths.knownHosts, pats, [{ type: 'ssh-ed25519', key: 'AAAA1' }]);
  await pinHost(paths.knownHosts, ['[127.0.0.1]:22202', 'k-compute-01'], [{ type: 'ssh-ed25519', key: 'AAAA2' }]);
  assert.ok(await isPinned(paths.knownHosts, pats));
  await pinHost(paths.knownHosts, pats, [{ type: 'ssh-ed25519', key: 'AAAA3' }]);
  const text = readFileSync(paths.knownHosts, 'utf8');
  assert.is(text, '[127.0.0.1]:22202,k-compute-01 ssh-ed25519 AAAA2\n[127.0.0.1]:22201,k-controller ssh-ed25519 AAAA3\n');
  await unpinHost(paths.knownHosts, pats);
  assert.not.ok(await isPinned(paths.knownHosts, pats));
});

test('qemu-img: overlay never smaller than its base; info, check, convert', async () => {
  const d = tmp();
  const base = join(d, 'base.qcow2');
  await qemuImg.create(base, 256 * 1024 * 1024);
  await qemuImg.createOverlay(join(d, 'small.qcow2'), base, 64 * 1024 * 1024);
  assert.is((await qemuImg.info(join(d, 'small.qcow2'))).virtualSize, 256 * 1024 * 1024, 'grown to the base size');
  await qemuImg.createOverlay(join(d, 'big.qcow2'), base, 1024 ** 3);
  const info = await qemuImg.info(join(d, 'big.qcow2'));
  assert.is(info.virtualSize, 1024 ** 3);
  assert.is(info.backingFilename, base);
  assert.is(info.backingFormat, 'qcow2');
  assert.ok((await qemuImg.check(join(d, 'big.qcow2'))).ok);
  await qemuImg.convert(join(d, 'big.qcow2'), join(d, 'flat.raw'), { outFormat: 'raw' });
  assert.ok(existsSync(join(d, 'flat.raw')));
  assert.is((await qemuImg.info(join(d, 'flat.raw'))).format, 'raw');
  assert.ok(await qemuImg.grow(join(d, 'big.qcow2'), 2 * 1024 ** 3));
  assert.not.ok(await qemuImg.grow(join(d, 'big.qcow2'), 1024 ** 3), 'never shrinks');
  assert.is((await qemuImg.info(join(d, 'big.qcow2'))).virtualSize, 2 * 1024 ** 3);
  const err = await qemuImg.info(join(d, 'missing.qcow2')).then(() => undefined, (e: Error) => e);
  assert.match(err?.message ?? '', 'missing.qcow2');
});

test.run();
