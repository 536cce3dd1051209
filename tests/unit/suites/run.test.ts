/**
 * The suite runner end to end against a real sshd on 127.0.0.1: a fake
 * three-node cluster whose nodes all point at the local daemon, suites that
 * pass, fail, skip, time out and hand values between checks, and the
 * reporters reading the results.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterPlan, NodePlan } from '../../../lib/model.js';
import { exec } from '../../../lib/tools/exec.js';
import { clusterEnv } from '../../../lib/suites/env.js';
import { junitXml, renderEvent, renderFailures, renderTable, writeJunit } from '../../../lib/suites/report.js';
import { listSuites, loadSuite, runSuite, runSuites, type NodeAccess, type SuiteEvent, type SuiteResult } from '../../../lib/suites/run.js';
import { KILL_OWN_SESSION, startSshd, type Sshd } from './sshd-fixture.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SUITES = join(REPO, 'tests/suites');

let sshd: Sshd;
let root: string;
let fakeResult: SuiteResult;
const events: SuiteEvent[] = [];

function node(name: string, role: NodePlan['role'], ip: string, gpus = 0): NodePlan {
  return {
    name: `t-${name}`,
    shortName: name,
    cluster: 't',
    role,
    vcpus: 1,
    memoryMiB: 512,
    diskGb: 4,
    ip,
    mac: '52:54:00:00:00:01',
    image: { kind: 'built', name: 'base' },
    autoStart: false,
    pcie: [],
    virtiofs: [],
    emulatedGpus: gpus,
  };
}

function plan(nodes: NodePlan[]): ClusterPlan {
  return {
    name: 't',
    kind: 'hpc',
    libvirtUri: 'qemu:///system',
    acceleration: 'tcg',
    cpu: { model: 'max', features: [], pinning: false, nested: false },
    memoryBacking: { hugepages: false, hugepageSize: '2M', memfd: false },
    network: {
      mode: 'user',
      subnet: '192.168.150.0/24',
      prefix: 24,
      gateway: '192.168.150.1',
      netmask: '255.255.255.0',
      libvirtName: 't-cluster',
      bridge: 'virbr-t',
    },
    nodes,
    slurm: { partitions: ['debug'], defaultPartition: 'debug', maxJobTime: 'UNLIMITED', accounting: { enabled: false, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 }, prolog: [], epilog: [] },
    storage: { shared: 'nfs', mountPoint: '/shared', virtiofs: false },
    monitoring: { prometheus: true, nodeExporter: true, grafana: false, dcgm: false },
    users: [],
  };
}

const fakeCluster = plan([
  node('controller', 'controller', '192.168.150.10'),
  node('compute-01', 'compute', '192.168.150.11', 2),
  node('compute-02', 'compute', '192.168.150.12', 2),
]);

function accessFor(cluster: ClusterPlan, skip: string[] = []): Map<string, NodeAccess> {
  const m = new Map<string, NodeAccess>();
  for (const n of cluster.nodes) {
    if (!skip.includes(n.shortName)) m.set(n.name, { host: '127.0.0.1', port: sshd.port, username: sshd.user });
  }
  return m;
}

const FAKE: Record<string, string> = {
  'check-10-env.sh': `#!/usr/bin/env bash
# @description every node sees the plan's environment
# @nodes all
# @timeout 20
set -euo pipefail
echo "node=$PHAROS_NODE role=$PHAROS_NODE_ROLE computes=$PHAROS_COMPUTE_NODES gpus=$PHAROS_TOTAL_GPUS"
wait_for "the root directory" 5 test -d /
[[ $PHAROS_COMPUTE_COUNT == 2 ]]
`,
  'check-20-export.sh': `#!/usr/bin/env bash
# @nodes controller
set -euo pipefail
export_var PHAROS_TOKEN "from-$PHAROS_NODE with spaces"
`,
  'check-30-consume.sh': `#!/usr/bin/env bash
# @nodes each-compute
set -euo pipefail
[[ $PHAROS_TOKEN == "from-controller with spaces" ]] || fail "token was '\${PHAROS_TOKEN:-}'"
echo "got token on $PHAROS_NODE"
`,
  'check-40-gpu.sh': `#!/usr/bin/env bash
# @nodes compute
set -euo pipefail
skip "no GPUs configured"
`,
  'check-50-broken.sh': `#!/usr/bin/env bash
# @description fails with output that needs escaping
# @nodes controller
echo 'some <output> & "quotes" ]]> \u0001 done'
echo "the bad thing happened" >&2
exit 3
`,
  'check-60-slow.sh': `#!/usr/bin/env bash
# @nodes controller
# @timeout 1
echo started
sleep 30
`,
};

test.before(async () => {
  sshd = await startSshd();
  root = await mkdtemp(join(tmpdir(), 'pharos-suites-'));
  await mkdir(join(root, 'fake'));
  for (const [f, body] of Object.entries(FAKE)) await writeFile(join(root, 'fake', f), body);
  await copyFile(join(SUITES, 'lib.sh'), join(root, 'lib.sh'));
  const suite = await loadSuite(root, 'fake');
  fakeResult = await runSuite({
    suite,
    cluster: fakeCluster,
    access: accessFor(fakeCluster),
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHosts,
    onEvent: (e) => events.push(e),
  });
});

test.after(async () => {
  await sshd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function find(check: string, nodeName?: string) {
  const r = fakeResult.checks.find((c) => c.check === check && (!nodeName || c.node === nodeName));
  if (!r) throw new Error(`no result for ${check} ${nodeName ?? ''}`);
  return r;
}

test('fake suite: statuses, nodes and ordering', () => {
  const got = fakeResult.checks.map((c) => `${c.check}@${c.node}:${c.status}`);
  assert.equal(got, [
    'env@controller:pass',
    'env@compute-01:pass',
    'env@compute-02:pass',
    'export@controller:pass',
    'consume@compute-01:pass',
    'consume@compute-02:pass',
    'gpu@compute-01:skip',
    'broken@controller:fail',
    'slow@controller:fail',
  ]);
  assert.is(fakeResult.status, 'fail');
  assert.match(find('env', 'compute-02').output, 'node=compute-02 role=compute computes=compute-01 compute-02 gpus=4');
  assert.match(find('env', 'controller').output, 'ok: the root directory');
});

test('skip reason is the last line; failure message and output are captured', () => {
  assert.is(find('gpu').message, 'no GPUs configured');
  const b = find('broken');
  assert.is(b.exitCode, 3);
  assert.match(b.message, 'exit 3: the bad thing happened');
  assert.match(b.output, 'some <output> & "quotes"');
  const s = find('slow');
  assert.match(s.message, 'timed out after 1 s waiting for check fake/slow on controller');
  assert.match(s.output, 'started');
  assert.ok(s.durationMs < 15000);
});

test('events: suite start/end and one check-end per result', () => {
  assert.is(events[0]?.type, 'suite-start');
  assert.is(events[events.length - 1]?.type, 'suite-end');
  assert.is(events.filter((e) => e.type === 'check-end').length, fakeResult.checks.length);
  assert.ok(events.some((e) => e.type === 'output' && e.line === 'got token on compute-02'));
  const lines = events.map(renderEvent).filter((l): l is string => l !== undefined);
  assert.is(lines[0], 'suite fake: 6 checks');
  assert.ok(lines.some((l) => /^  SKIP  fake\/gpu on compute-01 \(\S+\) — no GPUs configured$/.test(l)), lines.join('\n'));
  assert.match(lines[lines.length - 1] ?? '', /^suite fake: FAIL in /);
});

test('runSuites runs several suites over shared connections and can stop at the first failure', async () => {
  const fake = await loadSuite(root, 'fake');
  const base = { cluster: fakeCluster, access: accessFor(fakeCluster), keyFile: sshd.keyFile, knownHostsFile: sshd.knownHosts };
  const two = await runSuites({ ...base, suites: [fake, fake], only: ['env'] });
  assert.equal(two.map((r) => `${r.suite}:${r.status}:${r.checks.length}`), ['fake:pass:3', 'fake:pass:3']);
  const stop = await runSuites({ ...base, suites: [fake, fake], only: ['broken'], failFast: true });
  assert.is(stop.length, 1);
});

test('a node with no SSH address is an error, not a failure', async () => {
  const suite = await loadSuite(root, 'fake');
  const r = await runSuite({
    suite,
    cluster: fakeCluster,
    access: accessFor(fakeCluster, ['compute-02']),
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHosts,
    only: ['env'],
  });
  assert.equal(
    r.checks.map((c) => `${c.node}:${c.status}`),
    ['controller:pass', 'compute-01:pass', 'compute-02:error'],
  );
  assert.match(r.checks[2]?.message ?? '', 'no SSH address known for node t-compute-02');
});

test('a connection that dies mid-check is an error; the next check reconnects', async () => {
  await mkdir(join(root, 'drop'));
  await writeFile(join(root, 'drop', 'check-10-drop.sh'), `#!/bin/bash\n# @nodes controller\n# @timeout 20\n${KILL_OWN_SESSION}\n`);
  await writeFile(join(root, 'drop', 'check-20-after.sh'), '#!/bin/bash\n# @nodes controller\necho still here\n');
  const r = await runSuite({
    suite: await loadSuite(root, 'drop'),
    cluster: fakeCluster,
    access: accessFor(fakeCluster),
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHosts,
  });
  assert.equal(r.checks.map((c) => `${c.check}:${c.status}`), ['drop:error', 'after:pass']);
  assert.match(r.checks[0]?.message ?? '', 'lost while running check drop/drop on controller');
  assert.match(r.checks[1]?.output ?? '', 'still here');
});

test('a wrong pinned host key makes every check an error', async () => {
  const suite = await loadSuite(root, 'fake');
  const r = await runSuite({
    suite,
    cluster: fakeCluster,
    access: accessFor(fakeCluster),
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.wrongKnownHosts,
    only: ['export'],
  });
  assert.is(r.checks[0]?.status, 'error');
  assert.match(r.checks[0]?.message ?? '', 'HOST KEY MISMATCH');
});

test('JUnit XML parses back with the right counts, escaping and content', async () => {
  const path = join(root, 'reports', 'junit.xml');
  await writeJunit([fakeResult], path);
  const xml = await readFile(path, 'utf8');
  assert.is(xml, junitXml([fakeResult]));
  const py = `
import json, sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
out = {"root": t.tag, "attrs": t.attrib, "suites": []}
for s in t.findall("testsuite"):
    cases = []
    for c in s.findall("testcase"):
        kids = {k.tag: {"message": k.get("message"), "text": k.text} for k in c}
        cases.append({"name": c.get("name"), "classname": c.get("classname"), "kids": kids})
    out["suites"].append({"name": s.get("name"), "tests": s.get("tests"), "failures": s.get("failures"), "skipped": s.get("skipped"), "cases": cases})
print(json.dumps(out))
`;
  const r = await exec('python3', ['-c', py, path]);
  const doc = JSON.parse(r.stdout) as {
    root: string;
    attrs: Record<string, string>;
    suites: {
      name: string;
      tests: string;
      failures: string;
      skipped: string;
      cases: { name: string; classname: string; kids: Record<string, { message: string; text: string | null }> }[];
    }[];
  };
  assert.is(doc.root, 'testsuites');
  assert.is(doc.attrs.tests, '9');
  assert.is(doc.attrs.failures, '2');
  assert.is(doc.attrs.skipped, '1');
  const s = doc.suites[0]!;
  assert.is(s.name, 'fake');
  assert.is(s.cases.length, 9);
  const broken = s.cases.find((c) => c.name === 'broken [controller]')!;
  assert.is(broken.classname, 't.fake');
  assert.match(broken.kids.failure?.message ?? '', 'exit 3');
  assert.match(broken.kids.failure?.text ?? '', 'some <output> & "quotes" ]]>');
  const skipped = s.cases.find((c) => c.name === 'gpu [compute-01]')!;
  assert.is(skipped.kids.skipped?.message, 'no GPUs configured');
});

test('terminal table and failure output', () => {
  const table = renderTable([fakeResult]);
  const lines = table.split('\n');
  assert.match(lines[0] ?? '', /^SUITE\s+CHECK\s+NODE\s+STATUS\s+TIME\s+NOTE$/);
  assert.ok(lines.some((l) => /^fake\s+consume\s+compute-02\s+PASS\s+\S+$/.test(l)), table);
  assert.ok(lines.some((l) => /^fake\s+gpu\s+compute-01\s+SKIP\s+\S+\s+no GPUs configured$/.test(l)), table);
  assert.match(lines[lines.length - 1] ?? '', '9 checks: 6 passed, 2 failed, 0 errors, 1 skipped');
  // Columns line up: STATUS starts at the same offset on every row.
  const col = (lines[0] ?? '').indexOf('STATUS');
  for (const l of lines.slice(1, -1)) assert.ok(/^(PASS|FAIL|SKIP|ERROR)/.test(l.slice(col)), l);
  assert.ok(renderTable([fakeResult], { color: true }).includes('\u001b[31mFAIL'));
  const f = renderFailures([fakeResult]);
  assert.match(f, '--- fake/broken on controller: FAIL (exit 3: the bad thing happened)');
  assert.match(f, 'some <output>');
  assert.not.match(f, 'consume');
});

test('the real basic-infrastructure suite passes against this machine', async () => {
  // Both nodes are this host (so the hostname and loopback IP are true); the
  // cluster-network check skips peers with its own IP.
  const me = hostname();
  const local = plan([
    { ...node(me, 'controller', '127.0.0.1'), name: me },
    { ...node(me, 'compute', '127.0.0.1'), name: `${me}-c` },
  ]);
  const suite = await loadSuite(SUITES, 'basic-infrastructure');
  const r = await runSuite({
    suite,
    cluster: local,
    access: accessFor(local),
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHosts,
  });
  assert.is(r.status, 'pass', renderFailures([r]));
  assert.equal(
    r.checks.map((c) => c.check),
    ['ssh-hostname', 'ssh-hostname', 'cluster-network', 'cluster-network', 'time-sync', 'time-sync'],
  );
});

test('the real slurm-controller suite on a controller-only cluster: compute checks skip, none errors', async () => {
  const solo = plan([node('controller', 'controller', '192.168.150.10')]);
  const suite = await loadSuite(SUITES, 'slurm-controller');
  const r = await runSuite({
    suite,
    cluster: solo,
    access: accessFor(solo),
    keyFile: sshd.keyFile,
    knownHostsFile: sshd.knownHosts,
    only: ['munge-decode-compute', 'munge-encode-compute', 'munge-decode-controller'],
  });
  assert.equal(
    r.checks.map((c) => `${c.check}:${c.node}:${c.status}`),
    ['munge-decode-compute:-:skip', 'munge-encode-compute:-:skip', 'munge-decode-controller:controller:skip'],
    renderFailures([r]),
  );
  assert.match(r.checks[2]!.message, 'controller-only');
  assert.is(r.status, 'pass');
});

test('the real virtio-fs suite against this machine: a plain directory is not virtiofs, rw access and owner/mode are checked, a node without mounts skips', async () => {
  const me = hostname();
  const shared = await mkdtemp(join(tmpdir(), 'pharos-vfs-suite-'));
  try {
    await chmod(shared, 0o755);
    const run = async (mode: string) => {
      const withMount = { ...node(me, 'controller', '127.0.0.1'), name: me };
      withMount.virtiofs = [{ tag: 'data', hostPath: shared, mountPoint: shared, owner: 'root', group: 'root', mode, options: 'rw,relatime' }];
      const local = plan([withMount, { ...node(me, 'compute', '127.0.0.1'), name: `${me}-c` }]);
      return runSuite({ suite: await loadSuite(SUITES, 'virtio-fs'), cluster: local, access: accessFor(local), keyFile: sshd.keyFile, knownHostsFile: sshd.knownHosts });
    };
    const r = await run('0755');
    const statuses = r.checks.map((c) => `${c.check}:${c.status}`).sort();
    assert.equal(statuses, ['access:pass', 'access:skip', 'mounted:fail', 'mounted:skip', 'owner-mode:pass', 'owner-mode:skip'], renderFailures([r]));
    const mountedFail = r.checks.find((c) => c.check === 'mounted' && c.status === 'fail')!;
    assert.match(mountedFail.message, `${shared} on ${me} is`);
    assert.match(mountedFail.message, 'not virtiofs (tag data)');
    assert.match(r.checks.find((c) => c.check === 'access' && c.status === 'skip')!.message, 'no virtio-fs mounts on');
    assert.equal(await readdir(shared), [], 'the rw probe file was removed');
    const wrong = await run('0700');
    const om = wrong.checks.find((c) => c.check === 'owner-mode' && c.status !== 'skip')!;
    assert.is(om.status, 'fail', renderFailures([wrong]));
    assert.match(om.message, 'has mode 755, expected 0700');
  } finally {
    await rm(shared, { recursive: true, force: true });
  }
});

test('every suite under tests/suites loads with valid headers', async () => {
  const suites = await listSuites(SUITES);
  assert.equal(
    suites.map((s) => s.name),
    ['accounting', 'basic-infrastructure', 'cgroup-isolation', 'cloud-nodes', 'containers', 'distributed-training', 'gres', 'job-scripts', 'kubernetes', 'monitoring', 'mpi', 'shared-storage', 'slurm-compute', 'slurm-controller', 'users', 'virtio-fs'],
  );
  for (const s of suites) {
    assert.ok(s.checks.length > 0, s.name);
    assert.ok(s.prelude.includes('wait_for()'), 'lib.sh is the prelude');
    assert.ok(s.files.some((f) => f.endsWith('lib.sh')));
    for (const c of s.checks) assert.ok(c.description.length > 0, `${c.file} has a @description`);
  }
  const env = clusterEnv(fakeCluster);
  assert.is(env.PHAROS_GPU_COUNTS, 'compute-01=2 compute-02=2');
  assert.is(env.PHAROS_CONTROLLER_IP, '192.168.150.10');
});

test('a bad header is reported with file and line', async () => {
  await mkdir(join(root, 'bad'));
  await writeFile(join(root, 'bad', 'check-1-x.sh'), '#!/bin/bash\n# @nodes everywhere\necho\n');
  try {
    await loadSuite(root, 'bad');
    assert.unreachable('should have thrown');
  } catch (e) {
    const err = e as { message: string; problems: { line?: number; message: string }[] };
    assert.match(err.message, 'invalid check header');
    assert.is(err.problems[0]?.line, 2);
    assert.match(err.problems[0]?.message ?? '', 'unknown node selector "everywhere"');
  }
  try {
    await loadSuite(root, 'nope');
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, 'unknown test suite "nope"');
  }
});

test('shellcheck: every cluster check script is clean', async () => {
  const { globby } = await import('globby');
  const files = await globby('**/*.sh', { cwd: SUITES, absolute: true });
  assert.ok(files.length >= 20, `found ${files.length} scripts`);
  const r = await exec('shellcheck', ['-x', '-S', 'style', ...files], { okCodes: [0, 1], pkg: 'shellcheck' });
  assert.is(r.code, 0, r.stdout);
});

test.run();
