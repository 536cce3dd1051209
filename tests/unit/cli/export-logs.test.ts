/**
 * `pharos export logs`, through the real bin, with no VM: the build logs of a
 * real build, the console logs of a fake cluster state, doctor --json, and
 * the nodes' logs over SSH from a real sshd (tests/unit/suites/sshd-fixture.ts)
 * standing in for one node while the other does not answer (a MANIFEST line,
 * not a failure); into a directory and into a .tar.gz.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ExportResult } from '../../../lib/export/logs.js';
import { GRAPH_URL, cli, tempRoot } from '../engine/helpers.js';
import { freePort, startSshd, type Sshd } from '../suites/sshd-fixture.js';

const root = tempRoot('pharos-export-');
const stateRoot = join(root, 'state');
const dataRoot = join(root, 'data');
const env = { PHAROS_STATE_DIR: stateRoot, PHAROS_DATA_DIR: dataRoot };
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => ({
  targets: [
    target({ name: 'a', run: async (ctx) => { ctx.log('hello from a'); return 1; } }),
    // What \`pharos test e2e\` builds first; here it fails at once.
    target({ name: 'e2e', run: async () => { throw new Error('deliberately broken'); } }),
  ],
});
`,
);
// acceleration tcg: the doctor does not boot its KVM test guest.
writeFileSync(
  join(root, 'cfg.yaml'),
  `version: "1.0"
metadata: { name: fake, description: export }
clusters:
  hpc:
    name: fake
    network: { subnet: "10.7.0.0/24", bridge: br-fake }
    hardware: { acceleration: { mode: tcg } }
    controller: { cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip_address: "10.7.0.10" }
    compute_nodes:
      - { cpu_cores: 1, memory_gb: 1, disk_gb: 4, ip: "10.7.0.11" }
    slurm_config: { partitions: [a], default_partition: a }
`,
);

mkdirSync(join(root, 'tests', 'suites'), { recursive: true });

let sshd: Sshd;

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, ['-c', join(root, 'cfg.yaml'), ...args], env);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test.before(async () => {
  sshd = await startSshd();
  const closed = await freePort();
  const cluster = join(stateRoot, 'clusters', 'fake');
  mkdirSync(join(cluster, 'ssh'), { recursive: true });
  copyFileSync(sshd.keyFile, join(cluster, 'ssh', 'id_ed25519'));
  // The fixture pins [127.0.0.1]:port; export logs connects with the VM's name as HostKeyAlias too.
  // The node that does not answer is pinned as well, so what fails is the connection itself.
  const pinned = readFileSync(sshd.knownHosts, 'utf8');
  writeFileSync(join(cluster, 'known_hosts'), pinned + pinned.replaceAll(`]:${sshd.port} `, `]:${closed} `));
  const consoleDir = join(dataRoot, 'console', 'fake');
  mkdirSync(consoleDir, { recursive: true });
  const vm = (name: string, port: number) => ({
    name,
    shortName: name.replace('fake-', ''),
    ip: '10.7.0.10',
    mac: '52:54:00:00:00:01',
    sshHost: '127.0.0.1',
    sshPort: port,
    disk: join(dataRoot, `${name}.qcow2`),
    consoleLog: join(consoleDir, `${name}.log`),
    pci: [],
  });
  writeFileSync(join(consoleDir, 'fake-controller.log'), '[    0.000000] Linux version 6.1 (console of the controller)\n');
  writeFileSync(
    join(cluster, 'state.json'),
    JSON.stringify({
      version: 1,
      cluster: 'fake',
      uri: 'qemu:///session',
      networkMode: 'user',
      network: 'fake-net',
      pool: 'fake-pool',
      poolDir: join(dataRoot, 'pools', 'fake'),
      vms: { 'fake-controller': vm('fake-controller', sshd.port), 'fake-compute-01': vm('fake-compute-01', closed) },
      updatedAt: new Date().toISOString(),
    }),
  );
  const b = await run(['build', 'a']);
  assert.is(b.code, 0, b.err);
});

test.after(async () => {
  await sshd?.stop();
});

function manifest(dir: string): Map<string, { status: string; detail: string }> {
  const m = new Map<string, { status: string; detail: string }>();
  for (const l of readFileSync(join(dir, 'MANIFEST'), 'utf8').split('\n')) {
    if (!l || l.startsWith('#')) continue;
    const [status, path, ...rest] = l.split(/\s+/);
    m.set(path!, { status: status!, detail: rest.join(' ') });
  }
  return m;
}

test('into a directory: build logs, console logs, doctor, node logs, the unreachable node in the MANIFEST', async () => {
  const dest = join(root, 'out');
  const r = await run(['export', 'logs', dest, '-l', userInfo().username]);
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), dest);
  assert.match(readFileSync(join(dest, 'build', 'logs', 'a.log'), 'utf8'), 'hello from a');
  assert.match(readFileSync(join(dest, 'clusters', 'fake', 'console', 'fake-controller.log'), 'utf8'), 'console of the controller');
  const doctor = JSON.parse(readFileSync(join(dest, 'doctor.json'), 'utf8')) as { checks: { id: string }[] };
  assert.ok(doctor.checks.some((c) => c.id === 'arch'), 'doctor.json is the doctor report');
  assert.is(JSON.parse(readFileSync(join(dest, 'clusters', 'fake', 'state.json'), 'utf8')).cluster, 'fake');
  const m = manifest(dest);
  assert.is(m.get('build/logs')?.status, 'ok');
  assert.is(m.get('doctor.json')?.status, 'ok');
  assert.is(m.get('clusters/fake/console/fake-compute-01.log')?.status, 'missing', 'a console log that is not there is noted');
  // The node that answers: what its sshd's machine has, fetched over SSH.
  const info = readFileSync(join(dest, 'clusters', 'fake', 'nodes', 'fake-controller', 'node-info.txt'), 'utf8');
  assert.match(info, execFileSync('hostname', { encoding: 'utf8' }).trim());
  assert.is(m.get('clusters/fake/nodes/fake-controller/node-info.txt')?.status, 'ok');
  for (const f of ['journal.log', 'slurmctld.log', 'slurmd.log']) {
    const e = m.get(`clusters/fake/nodes/fake-controller/${f}`);
    assert.ok(e && ['ok', 'missing', 'failed'].includes(e.status), `${f} has a MANIFEST line: ${JSON.stringify(e)}`);
    if (e.status === 'ok') assert.ok(existsSync(join(dest, 'clusters', 'fake', 'nodes', 'fake-controller', f)));
  }
  const down = m.get('clusters/fake/nodes/fake-compute-01');
  assert.is(down?.status, 'unreachable', JSON.stringify([...m]));
  assert.match(down!.detail, /refused/i);
  assert.match(r.err, /note: clusters\/fake\/nodes\/fake-compute-01: unreachable/);
});

test('into a .tar.gz, --json names each entry', async () => {
  const dest = join(root, 'ci-logs.tar.gz');
  const r = await run(['--json', 'export', 'logs', dest, '--cluster', 'nosuch']);
  assert.is(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as ExportResult;
  assert.is(doc.path, dest);
  assert.is(doc.tarball, true);
  assert.ok(doc.entries.some((e) => e.path === 'clusters' && e.status === 'missing'), 'no cluster of that name: noted');
  assert.not.ok(existsSync(join(root, 'ci-logs')), 'the staging directory is gone');
  const list = execFileSync('tar', ['-tzf', dest], { encoding: 'utf8' }).split('\n');
  for (const f of ['ci-logs/MANIFEST', 'ci-logs/doctor.json', 'ci-logs/build/logs/a.log']) assert.ok(list.includes(f), `${f} in ${list.join(' ')}`);
});

test('a failed `pharos test e2e` exports the logs of its clusters and prints where, before its count line', async () => {
  // Another cluster with state (another checkout's): not this run's, not exported.
  mkdirSync(join(stateRoot, 'clusters', 'other'), { recursive: true });
  writeFileSync(join(stateRoot, 'clusters', 'other', 'state.json'), JSON.stringify({ version: 1, cluster: 'other', uri: 'qemu:///session', vms: {} }));
  const r = await run(['test', 'e2e', '--no-cleanup']);
  assert.is(r.code, 1, r.err);
  const m = /\nlogs: (\S+)\n/.exec(r.out);
  assert.ok(m, `the path is printed:\n${r.out}`);
  assert.match(readFileSync(join(m[1]!, 'build', 'logs', 'e2e.log'), 'utf8'), 'deliberately broken');
  assert.is(manifest(m[1]!).get('clusters/fake/nodes/fake-controller/node-info.txt')?.status, 'ok');
  assert.not.ok(existsSync(join(m[1]!, 'clusters', 'other')), 'only the clusters of the e2e config');
  assert.match(r.out.trimEnd().split('\n').at(-1)!, /^0 passed, 0 failed/, 'the count line stays last');
});

test.run();
