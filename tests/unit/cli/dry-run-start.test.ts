/**
 * `pharos -n cluster start --images-dir` and `pharos -n vm start` say what
 * they would do and do nothing, through the real bin against libvirt's test
 * driver (`test:///<file>`, in-process, no daemon): no state, disks, keys or
 * console files appear, no SSH wait.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, cli, tempRoot } from '../engine/helpers.js';
import { gpuOwnersFile } from '../../../lib/cluster/state.js';

const root = tempRoot('pharos-dry-start-');
const stateRoot = join(root, 'state');
const dataRoot = join(root, 'data');
const nodeXml = join(root, 'node.xml');
writeFileSync(
  nodeXml,
  `<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>dr-off</name><memory>65536</memory><os><type>hvm</type></os>
    <test:runstate>5</test:runstate>
  </domain>
  <domain type='test'>
    <name>dr-on</name><memory>65536</memory><os><type>hvm</type></os>
  </domain>
</node>
`,
);
const env = { PHAROS_STATE_DIR: stateRoot, PHAROS_DATA_DIR: dataRoot, LIBVIRT_DEFAULT_URI: `test://${nodeXml}` };
// The local default with TCG set (no KVM probe); its URI is the test driver's (LIBVIRT_DEFAULT_URI).
const config = join(root, 'cluster.yaml');
writeFileSync(config, readFileSync(join(REPO, 'config', 'local.yaml'), 'utf8').replace(/mode: auto( .*)?\n/, 'mode: tcg\n'));

function writeClusterState(cluster: string, vms: string[]): void {
  const dir = join(stateRoot, 'clusters', cluster);
  mkdirSync(dir, { recursive: true });
  const record = (name: string, i: number) => ({
    name, shortName: name, ip: `192.168.100.${10 + i}`, mac: `52:54:00:00:00:1${i}`, sshHost: '127.0.0.1', sshPort: 1,
    disk: join(dataRoot, `${name}.qcow2`), consoleLog: join(dataRoot, `${name}.log`), pci: [],
  });
  const state = {
    version: 1, cluster, uri: `test://${nodeXml}`, networkMode: 'user', network: `${cluster}-net`, pool: `${cluster}-pool`,
    poolDir: dataRoot, vms: Object.fromEntries(vms.map((n, i) => [n, record(n, i)])), updatedAt: new Date().toISOString(),
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
}

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args, env);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test('-n cluster start --images-dir: the network, pool and every VM it would create; nothing made', async () => {
  const r = await run(['-n', '-c', config, 'cluster', 'start', '--images-dir', join(root, 'images')]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0]!, /^cluster \S+: dry run, nothing changed$/);
  assert.match(lines[1]!, /^ {2}network \S+: would create$/);
  assert.match(lines[2]!, /^ {2}pool \S+: would create$/);
  assert.ok(lines.length > 3);
  for (const l of lines.slice(3)) assert.match(l, /would create( and start|, not started: auto_start false)$/);
  assert.not.ok(existsSync(stateRoot), 'no state, owner record or key');
  assert.not.ok(existsSync(dataRoot), 'no pool directory, disk or console log');
});

test('-n cluster start --json: the plan as a document', async () => {
  const r = await run(['-n', '--json', '-c', config, 'cluster', 'start', '--images-dir', join(root, 'images')]);
  assert.is(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as { dryRun: boolean; network: { action: string }; vms: { action: string }[] };
  assert.ok(doc.dryRun);
  assert.is(doc.network.action, 'create');
  assert.ok(doc.vms.length > 0 && doc.vms.every((v) => v.action === 'create'));
});

test('-n vm start: "would start" for a VM that is off, "already running" for one that runs; no SSH wait', async () => {
  writeClusterState('drc', ['dr-off', 'dr-on', 'dr-gone']);
  const before = readdirSync(join(stateRoot, 'clusters', 'drc'));
  let r = await run(['-n', 'vm', 'start', 'dr-off']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), 'dr-off: would start (it is shut off)');
  r = await run(['-n', 'vm', 'start', 'dr-on']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), 'dr-on: already running');
  r = await run(['-n', 'vm', 'start', 'dr-gone']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), 'dr-gone: its domain is missing (pharos cluster start creates it)');
  r = await run(['-n', '--json', 'vm', 'start', 'dr-off']);
  assert.equal(JSON.parse(r.out), { vm: 'dr-off', action: 'would-start', state: 'shut off', dryRun: true });
  assert.equal(readdirSync(join(stateRoot, 'clusters', 'drc')), before, 'no owner record or GPU claim written');
  assert.not.ok(existsSync(gpuOwnersFile(stateRoot)));
});

test.run();
