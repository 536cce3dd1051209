/**
 * `pharos cluster status` through the real bin, against libvirt's test driver
 * (`test:///<file>`: virsh runs it in-process, no daemon, domains defined in
 * the file): "not created" and exit 0 for a cluster with no state, and the
 * documented exit codes for running (0), stopped (3) and partial (4).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, cli, tempRoot } from '../engine/helpers.js';
import { requireTool } from '../ansible/helpers.js';
import { writeClusterState } from './state-fixture.js';

const root = tempRoot('pharos-status-');
const stateRoot = join(root, 'state');
const env = { PHAROS_STATE_DIR: stateRoot, PHAROS_DATA_DIR: join(root, 'data') };

// Two domains: one shut off (runstate 5), one running.
const nodeXml = join(root, 'node.xml');
writeFileSync(
  nodeXml,
  `<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>st-off</name><memory>65536</memory><os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>st-on</name><memory>65536</memory><os><type>hvm</type></os>
  </domain>
</node>
`,
);

const writeState = (cluster: string, vms: string[]): void => writeClusterState(root, stateRoot, nodeXml, cluster, vms);

async function status(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, ['cluster', 'status', ...args], env);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test('a cluster with no state: "not created", exit 0 (named, or from the config)', async () => {
  let r = await status(['--cluster', 'nosuch']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), 'cluster nosuch: not created');
  r = await status(['--json', '--cluster', 'nosuch']);
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out), { cluster: 'nosuch', state: 'not-created', vms: [] });
  // No --cluster: the config's cluster (local.yaml names pharos-hpc).
  r = await status(['-c', join(REPO, 'config', 'local.yaml')]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^cluster \S+: not created$/m);
});

test('running 0, stopped 3, partial 4, from the real virsh', async () => {
  await requireTool('virsh', 'libvirt-clients');
  writeState('st-up', ['st-on']);
  writeState('st-down', ['st-off']);
  writeState('st-half', ['st-on', 'st-off']);
  let r = await status(['--cluster', 'st-up']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /st-on\s+running/);
  assert.match(r.out, /^running: 1 of 1 VM\(s\) running$/m);
  r = await status(['--cluster', 'st-down']);
  assert.is(r.code, 3, r.err);
  assert.match(r.out, /st-off\s+shut off/);
  assert.match(r.out, /^stopped: 0 of 1 VM\(s\) running$/m);
  r = await status(['--cluster', 'st-half', '--json']);
  assert.is(r.code, 4, r.err);
  const doc = JSON.parse(r.out) as { state: string; vms: { name: string; state: string }[] };
  assert.is(doc.state, 'partial');
  assert.equal(doc.vms.map((v) => `${v.name}=${v.state}`), ['st-on=running', 'st-off=shut off']);
  // Another cluster's state is named when the asked one has none.
  r = await status(['--cluster', 'nosuch']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /not created \(clusters with state: .*st-up/);
});

test('--help documents the exit codes', async () => {
  const r = await status(['--help']);
  assert.match(r.out, /Exit status: 0 every VM running, or the cluster is not created[\s\S]*3 stopped[\s\S]*4 partial/);
});

test.run();
