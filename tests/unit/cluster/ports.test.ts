/**
 * The one SSH forward port policy (lib/libvirt/alloc.ts `allocatePorts`, fed
 * from the clusters' state by lib/cluster/ports.ts) that the vm:<name> targets
 * and `cluster start` share. Busy ports are made busy for real: a listening
 * socket on 127.0.0.1.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { allocatePorts, PORT_BASE, PORT_SPAN } from '../../../lib/libvirt/alloc.js';
import { sshPortFor, sshPorts } from '../../../lib/cluster/ports.js';
import { clusterPaths } from '../../../lib/cluster/paths.js';
import { writeState, type ClusterState } from '../../../lib/cluster/state.js';

const servers: Server[] = [];
const dirs: string[] = [];
test.after(() => {
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A port something listens on until the end of the file. */
async function busyPort(): Promise<number> {
  const srv = createServer();
  servers.push(srv);
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  return (srv.address() as { port: number }).port;
}

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const p = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}

const inRange = (p: number): boolean => p >= PORT_BASE && p < PORT_BASE + PORT_SPAN;

function stateWith(cluster: string, ports: Record<string, number>): ClusterState {
  const vms: ClusterState['vms'] = {};
  for (const [name, sshPort] of Object.entries(ports)) {
    vms[name] = { name, shortName: name, ip: '10.0.0.10', mac: '52:54:00:00:00:01', sshHost: '127.0.0.1', sshPort, disk: '/x', consoleLog: '/y', pci: [] };
  }
  return { version: 1, cluster, uri: 'qemu:///system', networkMode: 'user', network: `${cluster}-cluster`, pool: `${cluster}-pool`, poolDir: '/p', vms, updatedAt: '' };
}

async function stateRoot(states: ClusterState[]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'pht-ports-'));
  dirs.push(root);
  for (const s of states) await writeState(clusterPaths(s.cluster, root, '/data').stateFile, s);
  return root;
}

test('a port already used for a VM is kept, even while something listens on it (its own QEMU)', async () => {
  const p = await busyPort();
  assert.is((await allocatePorts([{ vm: 'k-a', recorded: p, planned: await freePort() }], new Set())).get('k-a'), p);
});

test('the planned port is given when it is free and no other VM holds it', async () => {
  const p = await freePort();
  assert.is((await allocatePorts([{ vm: 'k-a', planned: p }], new Set())).get('k-a'), p);
});

test('a planned port something listens on is replaced by an allocated one', async () => {
  const p = await busyPort();
  const got = (await allocatePorts([{ vm: 'k-a', planned: p }], new Set())).get('k-a')!;
  assert.is.not(got, p);
  assert.ok(inRange(got), `${got} in the allocation range`);
  assert.is(got, (await allocatePorts([{ vm: 'k-a' }], new Set())).get('k-a'), 'the stable first choice of the name');
});

test('a planned port another cluster\'s VM holds is not given, though nothing listens on it', async () => {
  const p = await freePort();
  const got = (await allocatePorts([{ vm: 'k-a', planned: p }], new Set([p]))).get('k-a')!;
  assert.is.not(got, p);
  assert.ok(inRange(got));
});

test('ports other VMs of the plan hold or were just given are respected', async () => {
  const p = await freePort();
  // k-a keeps p (recorded), so k-b, offered p too, gets another one
  const m = await allocatePorts([{ vm: 'k-b', planned: p }, { vm: 'k-a', recorded: p }], new Set());
  assert.is(m.get('k-a'), p);
  assert.is.not(m.get('k-b'), p);
  // two VMs offered the same free port: the first gets it, the second not
  const q = await freePort();
  const n = await allocatePorts([{ vm: 'k-c', planned: q }, { vm: 'k-d', planned: q }], new Set());
  assert.is(n.get('k-c'), q);
  assert.is.not(n.get('k-d'), q);
  const many = await allocatePorts(['w', 'x', 'y', 'z'].map((vm) => ({ vm })), new Set());
  assert.is(new Set(many.values()).size, 4);
});

test('sshPorts: recorded ports from state, ports of other clusters avoided, the last build\'s port when state has none', async () => {
  const planned = await freePort();
  const other = await freePort();
  const root = await stateRoot([stateWith('one', { 'one-a': 22299 }), stateWith('two', { 'two-a': other })]);
  const env = { stateRoot: root, paths: clusterPaths('one', root, '/data') };
  const nodes = [
    { name: 'one-a', sshPort: planned },
    { name: 'one-b', sshPort: other },
    { name: 'one-c', sshPort: planned },
  ];
  const m = await sshPorts(nodes, env, new Map([['one-c', 23456]]));
  assert.is(m.get('one-a'), 22299, 'recorded in state wins over the plan');
  assert.is.not(m.get('one-b'), other, 'cluster two holds it');
  assert.ok(inRange(m.get('one-b')!));
  assert.is(m.get('one-c'), 23456, 'no record: the port of its last build');
});

test('sshPortFor (one node, the vm:<name> target) decides as sshPorts does for the whole plan', async () => {
  const busy = await busyPort();
  const root = await stateRoot([stateWith('one', { 'one-a': 22299 }), stateWith('two', { 'two-a': 22300 })]);
  const env = { stateRoot: root, paths: clusterPaths('one', root, '/data') };
  const nodes = [
    { name: 'one-a', sshPort: 22400 },
    { name: 'one-b', sshPort: busy },
    { name: 'one-c', sshPort: 22300 },
  ];
  const all = await sshPorts(nodes, env);
  for (const n of nodes) assert.is(await sshPortFor(n, env), all.get(n.name), n.name);
  // the other VM's record counts for the single-node call too
  assert.is.not(await sshPortFor({ name: 'one-d', sshPort: 22299 }, env), 22299);
});

test.run();
