/**
 * `pharos system status|stop|destroy` through the real bin on the two-cluster
 * config (config/local-dual.yaml: pharos, pharos-cloud), against libvirt's test
 * driver (`test:///<file>`, in-process in virsh): clusters in order, HPC first;
 * the whole-system exit code; a cluster never created is skipped; destroy
 * leaves domains that carry no Pharos metadata alone and removes nothing.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, cli, tempRoot } from '../engine/helpers.js';
import { requireTool } from '../ansible/helpers.js';
import { writeClusterState } from './state-fixture.js';
import { systemState } from '../../../lib/cli/commands/system.js';

const root = tempRoot('pharos-system-');
const stateRoot = join(root, 'state');
const env = { PHAROS_STATE_DIR: stateRoot, PHAROS_DATA_DIR: join(root, 'data') };
const DUAL = join(REPO, 'config', 'local-dual.yaml');

// Domains with the clusters' node names: none carries Pharos's metadata.
const nodeXml = join(root, 'node.xml');
const domain = (name: string, off: boolean): string =>
  `  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>${name}</name><memory>65536</memory><os><type>hvm</type></os>${off ? '\n    <test:runstate>5</test:runstate>' : ''}
  </domain>`;
writeFileSync(
  nodeXml,
  `<node>\n${[domain('pharos-controller', false), domain('pharos-compute-01', false), domain('pharos-cloud-control-plane', true)].join('\n')}\n</node>\n`,
);

const writeState = (cluster: string, vms: string[]): void => writeClusterState(root, stateRoot, nodeXml, cluster, vms);

async function system(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, ['-c', DUAL, ...args], env);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test('the whole-system state word', () => {
  assert.is(systemState(['not-created', 'not-created']), 'not-created');
  assert.is(systemState(['running', 'running']), 'running');
  assert.is(systemState(['stopped', 'not-created']), 'stopped');
  assert.is(systemState(['stopped', 'stopped']), 'stopped');
  assert.is(systemState(['running', 'not-created']), 'partial', 'one cluster up and one never made is not the whole system running');
  assert.is(systemState(['running', 'stopped']), 'partial');
  assert.is(systemState(['partial', 'running']), 'partial');
});

test('nothing created: both clusters "not created", HPC first, exit 0', async () => {
  const r = await system(['system', 'status', '--json']);
  assert.is(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { state: string; clusters: { cluster: string; kind: string; state: string }[] };
  assert.is(doc.state, 'not-created');
  assert.equal(doc.clusters.map((c) => `${c.cluster}/${c.kind}/${c.state}`), ['pharos/hpc/not-created', 'pharos-cloud/cloud/not-created']);
  const s = await system(['-n', 'system', 'stop']);
  assert.is(s.code, 0, s.err);
  assert.match(s.out, /^cluster pharos: not created, nothing to stop\ncluster pharos-cloud: not created, nothing to stop$/m);
});

test('one cluster running, the other stopped: exit 4; each cluster\'s table in order', async () => {
  await requireTool('virsh', 'libvirt-clients');
  writeState('pharos', ['pharos-controller', 'pharos-compute-01']);
  writeState('pharos-cloud', ['pharos-cloud-control-plane']);
  const r = await system(['system', 'status']);
  assert.is(r.code, 4, r.err);
  assert.match(r.out, /cluster pharos \(test:\/\/[\s\S]*pharos-controller\s+running[\s\S]*running: 2 of 2[\s\S]*cluster pharos-cloud \(test:[\s\S]*pharos-cloud-control-plane\s+shut off[\s\S]*stopped: 0 of 1[\s\S]*^system: partial$/m);
  const j = JSON.parse((await system(['system', 'status', '--json'])).out) as { state: string; clusters: { cluster: string; state: string }[] };
  assert.equal(j.clusters.map((c) => `${c.cluster}=${c.state}`), ['pharos=running', 'pharos-cloud=stopped']);
  const s = await system(['-n', 'system', 'stop', '--json']);
  assert.is(s.code, 0, s.err);
  const stop = JSON.parse(s.out) as { clusters: { cluster: string; vms: { name: string; action: string }[] }[] };
  assert.equal(stop.clusters.map((c) => c.cluster), ['pharos', 'pharos-cloud']);
  assert.equal(stop.clusters[0]!.vms.map((v) => v.name).sort(), ['pharos-compute-01', 'pharos-controller']);
});

test('destroy: what has no Pharos metadata is left alone; without a terminal or -y nothing is removed', async () => {
  await requireTool('virsh', 'libvirt-clients');
  const r = await system(['-n', 'system', 'destroy']);
  assert.is(r.code, 0, r.err);
  const pharos = r.out.slice(0, r.out.indexOf('cluster pharos-cloud:'));
  assert.match(pharos, /^cluster pharos: would remove:\n\s+\S+\/state\/clusters\/pharos\n/);
  for (const d of ['pharos-controller', 'pharos-compute-01', 'pharos-cloud-control-plane']) {
    assert.match(pharos, new RegExp(`left alone:[\\s\\S]*domain ${d}: not created by pharos`), d);
  }
  assert.match(r.out.slice(r.out.indexOf('cluster pharos-cloud:')), /would remove:\n\s+\S+\/clusters\/pharos-cloud\n\s+left alone:\n\s+domain pharos-cloud-control-plane: not created by pharos/);
  const d = await system(['system', 'destroy']);
  assert.is(d.code, 1, d.out);
  assert.match(d.err, /not destroying clusters pharos, pharos-cloud without confirmation: stdin is not a terminal[\s\S]*pass --yes/);
  assert.is((await system(['system', 'status'])).code, 4, 'both states are still there');
});

test.run();
