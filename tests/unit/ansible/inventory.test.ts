/**
 * Inventory from a cluster plan: golden INI and YAML for the local default and
 * the example workstation config, both forms read identically by the real
 * `ansible-inventory`, and the hand-written plans agree with planSystem().
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInventory, gpuDevices, slurmGres, slurmRealMemory, toIni, toYaml, writeInventory } from '../../../lib/inventory/index.js';
import { accessFromState } from '../../../lib/cluster/access.js';
import { PharosError } from '../../../lib/errors.js';
import { exec } from '../../../lib/tools/exec.js';
import { loadConfig, planSystem } from '../../../lib/config/index.js';
import { examplePlan, exampleCloudPlan, localAccess, localPlan, natAccess } from './plans.js';
import { golden, REPO, requireTool } from './helpers.js';
import { samplesDir } from '../../fixtures/shared.js';

const EXAMPLE_CONFIG = join(samplesDir(), 'example-multi-gpu-clusters.yaml');
const cases = {
  local: () => buildInventory(localPlan(), localAccess()),
  example: () => buildInventory(examplePlan(), natAccess('hpc-cluster')),
  'example-cloud': () => buildInventory(exampleCloudPlan(), natAccess('cloud-cluster')),
};

for (const [name, make] of Object.entries(cases)) {
  test(`golden inventory ${name} (INI and YAML)`, () => {
    const inv = make();
    golden(`inventory/${name}.ini`, toIni(inv));
    golden(`inventory/${name}.yml`, toYaml(inv));
  });
}

/** ansible-inventory's JSON with `{"__ansible_unsafe": s}` (how it lists an
 *  !unsafe string) turned back into `s`; `bare` collects the variable strings
 *  that were not marked, as `name=value`. */
function unwrapUnsafe(v: unknown, bare: string[], inVars = false, name = ''): unknown {
  if (typeof v === 'string') {
    if (inVars) bare.push(`${name}=${v}`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => unwrapUnsafe(x, bare, inVars, name));
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '__ansible_unsafe') return o['__ansible_unsafe'];
    return Object.fromEntries(keys.map((k) => [k, unwrapUnsafe(o[k], bare, inVars || k === 'hostvars' || k === 'vars', k)]));
  }
  return v;
}

async function ansibleInventory(file: string, bare: string[] = []): Promise<unknown> {
  const r = await exec('ansible-inventory', ['-i', file, '--list'], { pkg: 'ansible-core', timeoutMs: 60_000 });
  const data = unwrapUnsafe(JSON.parse(r.stdout), bare) as Record<string, { children?: string[] }>;
  // The order of top-level groups follows where each is first mentioned in the
  // file, which legitimately differs between the two formats.
  for (const g of Object.values(data)) g.children?.sort();
  return data;
}

test('ansible-inventory reads the INI and YAML forms identically', async () => {
  await requireTool('ansible-inventory', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-inv-'));
  try {
    for (const [name, make] of Object.entries(cases)) {
      const inv = make();
      writeFileSync(join(dir, `${name}.ini`), toIni(inv));
      writeFileSync(join(dir, `${name}.yml`), toYaml(inv));
      const fromIni = await ansibleInventory(join(dir, `${name}.ini`));
      const bare: string[] = [];
      const fromYaml = await ansibleInventory(join(dir, `${name}.yml`), bare);
      assert.equal(fromIni, fromYaml, `${name}: INI and YAML inventories differ for Ansible`);
      // In the YAML form Ansible holds every string variable as unsafe (data,
      // never a template), but for the connection variables Pharos writes
      // itself, plain where they hold no `{` (Mitogen needs them plain).
      const plain = bare.filter((b) => !/^ansible_(host|user|ssh_private_key_file|ssh_common_args|python_interpreter)=[^{]*$/.test(b));
      assert.equal(plain, [], `${name}: strings not marked !unsafe`);
    }
    // Types survive: numbers stay numbers, lists stay lists, 24:00:00 stays a string.
    const parsed = (await ansibleInventory(join(dir, 'example.ini'))) as {
      _meta: { hostvars: Record<string, Record<string, unknown>> };
      hpc_gpu_nodes: { hosts: string[] };
    };
    const h = parsed._meta.hostvars['hpc-cluster-compute-01'] ?? {};
    assert.is(h.cpu_cores, 8);
    assert.is(h.has_gpu, true);
    assert.is(h.slurm_max_time, '24:00:00');
    assert.equal(h.slurm_partitions, ['gpu', 'debug']);
    assert.equal(h.gpu_devices, [{ type: 'nvidia_2805', file: '/dev/nvidia0' }]);
    assert.equal(parsed.hpc_gpu_nodes.hosts, ['hpc-cluster-compute-01', 'hpc-cluster-compute-02']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('user mode: every host is 127.0.0.1 with its own port, key and pinned known_hosts', () => {
  const inv = buildInventory(localPlan(), localAccess());
  const ports = Object.values(inv.hosts).map((h) => h.ansible_port);
  assert.equal(ports, [2210, 2211, 2212]);
  assert.ok(Object.values(inv.hosts).every((h) => h.ansible_host === '127.0.0.1' && h.ansible_user === 'root'));
  const args = String(inv.groups.find((g) => g.name === 'hpc')?.vars.ansible_ssh_common_args);
  assert.match(args, 'UserKnownHostsFile=/var/lib/pharos/clusters/pharos/known_hosts');
  assert.match(args, 'StrictHostKeyChecking=yes');
  assert.not.match(args, 'StrictHostKeyChecking=no');
});

test('a state root with spaces and quotes: Ansible (shlex) and ssh both read one known_hosts path', async () => {
  await requireTool('ansible-inventory', 'ansible-core');
  const plain = String(buildInventory(localPlan(), localAccess()).groups.find((g) => g.name === 'hpc')?.vars.ansible_ssh_common_args);
  assert.is(plain, '-o UserKnownHostsFile=/var/lib/pharos/clusters/pharos/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes', 'a plain path stays bare');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-inv-'));
  try {
    const knownHosts = join(dir, "pharos state", "it's \"x\"", 'known_hosts');
    const access = { ...localAccess(), knownHostsFile: knownHosts };
    writeFileSync(join(dir, 'inv.yml'), toYaml(buildInventory(localPlan(), access)));
    // What Ansible reads from the inventory, split as its ssh plugin splits it (Python's shlex.split).
    const data = (await ansibleInventory(join(dir, 'inv.yml'))) as { _meta: { hostvars: Record<string, Record<string, unknown>> } };
    const args = String(data._meta.hostvars['pharos-controller']!.ansible_ssh_common_args);
    const split = await exec('python3', ['-c', 'import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))', args], { timeoutMs: 30_000 });
    const words = JSON.parse(split.stdout) as string[];
    assert.equal(words.filter((w) => w !== '-o').map((w) => w.split('=')[0]), ['UserKnownHostsFile', 'StrictHostKeyChecking', 'IdentitiesOnly']);
    // ...and as ssh parses the option: one file, the whole path.
    const g = await exec('ssh', ['-G', ...words, 'pharos-controller'], { timeoutMs: 30_000 });
    const line = g.stdout.split('\n').find((l) => l.startsWith('userknownhostsfile '));
    assert.is(line, `userknownhostsfile ${knownHosts}`);
    assert.is(words[1], `UserKnownHostsFile="${knownHosts.replace(/"/g, '\\"')}"`, 'double-quoted for ssh');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('connection variables are plain only without a `{`; with one they are !unsafe like every other value', () => {
  const access = { ...localAccess(), knownHostsFile: '/srv/{{ lookup("pipe", "id") }}/known_hosts' };
  const yaml = toYaml(buildInventory(localPlan(), access));
  assert.match(yaml, /\n {14}ansible_host: 127\.0\.0\.1\n/);
  assert.match(yaml, /\n {14}ansible_user: root\n/);
  assert.match(yaml, /ansible_ssh_common_args: !unsafe .*UserKnownHostsFile=/);
  assert.match(yaml, /pharos_cluster_name: !unsafe pharos\n/);
});

test('user mode without a port for a node is one clear error', () => {
  const access = localAccess();
  access.nodes.delete('pharos-compute-02');
  try {
    buildInventory(localPlan(), access);
    assert.unreachable('expected a PharosError');
  } catch (e) {
    assert.instance(e, PharosError);
    assert.match((e as PharosError).message, 'pharos-compute-02');
  }
});

test('access from cluster state maps VM records to hosts and ports', () => {
  const access = accessFromState(
    {
      version: 1, cluster: 'pharos', uri: 'qemu:///system', networkMode: 'user', network: 'n', pool: 'p', poolDir: '/p', updatedAt: '',
      vms: {
        'pharos-controller': { name: 'pharos-controller', shortName: 'controller', ip: '10.77.0.10', mac: 'm', sshHost: '127.0.0.1', sshPort: 22200, disk: 'd', consoleLog: 'c', pci: [] },
      },
    },
    { privateKey: '/k', knownHosts: '/kh' },
  );
  assert.equal(access.nodes.get('pharos-controller'), { host: '127.0.0.1', port: 22200 });
  assert.is(access.keyFile, '/k');
  assert.is(access.knownHostsFile, '/kh');
});

test('GPU naming: real GPUs as <vendor>_<device> on /dev/nvidiaK, emulated on /dev/pharos-gpuK', () => {
  const [, c1] = examplePlan().nodes;
  assert.equal(gpuDevices(c1!), [{ type: 'nvidia_2805', file: '/dev/nvidia0' }]);
  const [, l1] = localPlan().nodes;
  const devs = gpuDevices(l1!);
  assert.equal(devs.map((d) => d.file), ['/dev/pharos-gpu0', '/dev/pharos-gpu1']);
  assert.is(slurmGres(devs), 'gpu:emulated:2');
  assert.is(slurmGres([]), '');
});

test('RealMemory stays below what slurmd sees in the VM', () => {
  assert.is(slurmRealMemory(1024), 896);
  assert.ok(slurmRealMemory(16384) < 16384 - 512);
  assert.ok(slurmRealMemory(256) > 0);
});

test('the hand-written plans agree with planSystem() for the real configs', async () => {
  const local = planSystem(await loadConfig(join(REPO, 'config', 'local.yaml')));
  const lc = local.clusters.find((c) => c.kind === 'hpc');
  assert.ok(lc, 'config/local.yaml has an HPC cluster');
  assert.fixture(toYaml(buildInventory(lc, localAccess())), toYaml(buildInventory(localPlan(), localAccess())));
  const ex = planSystem(await loadConfig(EXAMPLE_CONFIG));
  const hc = ex.clusters.find((c) => c.kind === 'hpc');
  assert.ok(hc, 'the example config has an HPC cluster');
  // The example's virtio-fs mounts are at ${TOT} and ${HOME} (this machine's
  // paths): compared by tag, then left out of the golden-file plan.
  assert.equal(hc.nodes.flatMap((n) => n.virtiofs.map((m) => `${n.shortName}:${m.tag}`)), ['controller:project-repo', 'controller:datasets']);
  for (const n of hc.nodes) n.virtiofs = [];
  assert.fixture(toYaml(buildInventory(hc, natAccess('hpc-cluster'))), toYaml(buildInventory(examplePlan(), natAccess('hpc-cluster'))));
  const cc = ex.clusters.find((c) => c.kind === 'cloud');
  assert.ok(cc, 'the example config has a cloud cluster');
  assert.fixture(toYaml(buildInventory(cc, natAccess('cloud-cluster'))), toYaml(buildInventory(exampleCloudPlan(), natAccess('cloud-cluster'))));
});

test('writeInventory writes both forms and leaves no temp files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-winv-'));
  try {
    const inv = buildInventory(localPlan(), localAccess());
    const out = await writeInventory(inv, join(dir, 'sub'));
    assert.is(readFileSync(out.ini, 'utf8'), toIni(inv));
    assert.is(readFileSync(out.yaml, 'utf8'), toYaml(inv));
    assert.equal(readdirSync(join(dir, 'sub')).sort(), ['inventory.ini', 'inventory.yml']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
