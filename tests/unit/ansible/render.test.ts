/**
 * The roles' configuration files rendered by REAL Ansible from the generated
 * inventory (render.yml on this machine, connection=local, writing only into a
 * temp dir) and compared with golden files: slurm.conf, cgroup.conf, gres.conf,
 * /etc/hosts, chrony, exports, the mount unit, Prometheus, OpenMPI's site
 * parameters. Runs through runPlaybook, so the counts of its events callback
 * are exercised on real runs too.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInventory, toYaml, toIni, type Inventory } from '../../../lib/inventory/index.js';
import { runPlaybook } from '../../../lib/tools/ansible.js';
import { PharosError } from '../../../lib/errors.js';
import { exec } from '../../../lib/tools/exec.js';
import type { ClusterPlan } from '../../../lib/model.js';
import { controllerOnlyPlan, examplePlan, localAccess, localPlan, natAccess } from './plans.js';
import { goldenTree, requireTool } from './helpers.js';

const RENDER = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'render.yml');

async function render(inv: Inventory, format: 'ini' | 'yaml' = 'yaml'): Promise<{ dir: string; out: string; changed: number; hosts: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-render-'));
  const invFile = join(dir, format === 'ini' ? 'inventory.ini' : 'inventory.yml');
  writeFileSync(invFile, format === 'ini' ? toIni(inv) : toYaml(inv));
  const out = join(dir, 'out');
  const r = await runPlaybook({
    playbook: RENDER,
    inventoryPath: invFile,
    extraVars: { ansible_connection: 'local', render_out: out },
    timeoutMs: 120_000,
  });
  return { dir, out, changed: r.changed, hosts: Object.keys(r.recap).sort() };
}

const cases: Record<string, () => ClusterPlan> = { local: localPlan, example: examplePlan, 'controller-only': controllerOnlyPlan };
const accessFor = (name: string) => (name === 'example' ? natAccess('hpc-cluster') : localAccess());

// One real render per config, shared by the tests below (ansible-playbook is
// the slow part). The example goes through the INI form, the local default
// through YAML, so both writers feed the templates.
const renders = new Map<string, ReturnType<typeof render>>();
function rendered(name: string): ReturnType<typeof render> {
  let r = renders.get(name);
  if (!r) {
    const plan = cases[name];
    if (!plan) throw new Error(`no case ${name}`);
    r = render(buildInventory(plan(), accessFor(name)), name === 'local' ? 'yaml' : 'ini');
    renders.set(name, r);
  }
  return r;
}

for (const [name, plan] of Object.entries(cases)) {
  test(`rendered configuration for ${name} matches the golden files`, async () => {
    await requireTool('ansible-playbook', 'ansible-core');
    const p = plan();
    const r = await rendered(name);
    {
      assert.equal(r.hosts, p.nodes.map((n) => n.name).sort(), 'every node appears in the PLAY RECAP');
      assert.ok(r.changed > 0, 'files were written');
      goldenTree(`render/${name}`, r.out);
      // Slurm compares config hashes between daemons: identical everywhere.
      for (const f of ['slurm.conf', 'cgroup.conf', 'gres.conf']) {
        const texts = p.nodes.map((n) => readFileSync(join(r.out, n.name, f), 'utf8'));
        assert.ok(texts.every((t) => t === texts[0]), `${f} differs between nodes`);
      }
    }
  });
}

test('slurm.conf follows slurm_config: partitions, default, MaxTime, nodes, GRES', async () => {
  const r = await rendered('example');
  {
    const conf = readFileSync(join(r.out, 'hpc-cluster-controller', 'slurm.conf'), 'utf8');
    assert.match(conf, /^PartitionName=gpu Nodes=hpc-cluster-compute-01,hpc-cluster-compute-02 Default=YES MaxTime=24:00:00 OverSubscribe=YES State=UP$/m);
    assert.match(conf, /^PartitionName=debug .* Default=NO MaxTime=24:00:00/m);
    assert.match(conf, /^SlurmctldHost=hpc-cluster-controller\(192\.168\.100\.10\)$/m);
    assert.match(conf, /^NodeName=hpc-cluster-compute-01 NodeAddr=192\.168\.100\.11 CPUs=8 RealMemory=\d+ Gres=gpu:nvidia_2805:1 /m);
    assert.match(conf, /^SelectType=select\/cons_tres$/m);
    assert.match(conf, /^GresTypes=gpu$/m);
    for (const m of conf.matchAll(/RealMemory=(\d+)/g)) assert.ok(Number(m[1]) < 16384);
    const gres = readFileSync(join(r.out, 'hpc-cluster-compute-02', 'gres.conf'), 'utf8');
    assert.match(gres, 'NodeName=hpc-cluster-compute-02 Name=gpu Type=nvidia_2504 File=/dev/nvidia0');
    assert.match(readFileSync(join(r.out, 'hpc-cluster-compute-01', 'cgroup.conf'), 'utf8'), 'ConstrainDevices=yes');
  }
});

test('emulated GPUs: device nodes declared for systemd-tmpfiles, device isolation on; accounting and job scripts in slurm.conf', async () => {
  const r = await rendered('local');
  const tmpfiles = readFileSync(join(r.out, 'pharos-compute-01', 'pharos-gpu.conf'), 'utf8');
  assert.match(tmpfiles, /^c \/dev\/pharos-gpu0 0666 root root - 120:0$/m);
  assert.match(tmpfiles, /^c \/dev\/pharos-gpu1 0666 root root - 120:1$/m);
  assert.match(readFileSync(join(r.out, 'pharos-controller', 'cgroup.conf'), 'utf8'), /^ConstrainDevices=yes$/m);
  const conf = readFileSync(join(r.out, 'pharos-controller', 'slurm.conf'), 'utf8');
  for (const line of [
    'AccountingStorageType=accounting_storage/slurmdbd',
    'AccountingStorageHost=pharos-controller',
    'AccountingStorageTRES=gres/gpu',
    'JobAcctGatherType=jobacct_gather/cgroup',
    'Prolog=/etc/slurm/prolog.d/*',
    'Epilog=/etc/slurm/epilog.d/*',
    'HealthCheckProgram=/usr/local/sbin/pharos-healthcheck',
    'SelectTypeParameters=CR_Core_Memory',
    // 1920 MiB of RealMemory over 2 CPUs: two 1-CPU jobs without --mem share a node.
    'DefMemPerCPU=960',
  ]) {
    assert.ok(conf.split('\n').includes(line), `slurm.conf has ${line}`);
  }
  assert.match(readFileSync(join(r.out, 'pharos-controller', 'slurm.conf'), 'utf8'), /^NodeName=pharos-compute-02 NodeAddr=10\.77\.0\.12 CPUs=2 RealMemory=1920 Gres=gpu:emulated:2 State=UNKNOWN$/m);
});

test('controller-only cluster: slurm.conf has no node and partitions without Nodes=, Prometheus scrapes the controller', async () => {
  const r = await rendered('controller-only');
  const conf = readFileSync(join(r.out, 'pharos-controller', 'slurm.conf'), 'utf8');
  assert.not.match(conf, /^NodeName=/m);
  assert.match(conf, /^PartitionName=debug Default=YES MaxTime=1:00:00 OverSubscribe=YES State=UP$/m);
  assert.match(conf, /^SlurmctldHost=pharos-controller\(10\.77\.0\.10\)$/m);
  assert.match(readFileSync(join(r.out, 'pharos-controller', 'prometheus.yml'), 'utf8'), "'10.77.0.10:");
});

test('a default partition outside the partition list fails validation with a clear message', async () => {
  const p = localPlan();
  p.slurm = { partitions: ['debug'], defaultPartition: 'gpu', maxJobTime: '1:00:00', accounting: { enabled: false, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 }, prolog: [], epilog: [] };
  try {
    const r = await render(buildInventory(p, localAccess()));
    rmSync(r.dir, { recursive: true, force: true });
    assert.unreachable('validation should have failed');
  } catch (e) {
    assert.instance(e, PharosError);
    const err = e as PharosError;
    assert.match(err.message, 'failed on');
    assert.match(err.problems.map((d) => d.message).join('\n'), 'default partition');
  }
});

/** Runs Debian's slurmd 22.05 (the version the guests run) in GRES-print mode
 *  on a rendered config: it parses slurm.conf, gres.conf and cgroup.conf as the
 *  daemon would. Paths are moved into a temp dir; nothing on this machine is
 *  touched and no daemon is started. */
async function slurmdCheck(renderOut: string, node: string, extra = ''): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-slurmd-'));
  try {
    mkdirSync(join(dir, 'lib', 'slurmd'), { recursive: true });
    mkdirSync(join(dir, 'log'));
    mkdirSync(join(dir, 'dev'));
    for (const f of ['slurm.conf', 'gres.conf', 'cgroup.conf']) {
      let text = readFileSync(join(renderOut, node, f), 'utf8');
      if (f === 'slurm.conf') {
        text = text.replaceAll('/var/lib/slurm', join(dir, 'lib')).replaceAll('/var/log/slurm', join(dir, 'log')).replaceAll('/run/', `${dir}/`) + extra;
      }
      if (f === 'gres.conf') {
        // The emulated devices as the guest's systemd-tmpfiles makes them
        // (character devices, major 120), but under the temp dir.
        text = text.replaceAll('/dev/pharos-gpu', join(dir, 'dev', 'pharos-gpu'));
        for (const m of text.matchAll(new RegExp(`^NodeName=${node} .*File=\\S+pharos-gpu(\\d+)$`, 'gm'))) {
          await exec('mknod', [join(dir, 'dev', `pharos-gpu${m[1]}`), 'c', '120', String(m[1])], { pkg: 'coreutils' });
        }
      }
      writeFileSync(join(dir, f), text);
    }
    const r = await exec('slurmd', ['-G', '-f', join(dir, 'slurm.conf'), '-N', node], {
      okCodes: [0, 1], timeoutMs: 60_000, timeoutWhat: 'slurmd -G', pkg: 'slurmd',
    });
    return r.stdout + r.stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('Debian slurmd 22.05 accepts the generated slurm.conf and gres.conf', async () => {
  await requireTool('slurmd', 'slurmd');
  const local = await rendered('local');
  const out = await slurmdCheck(local.out, 'pharos-compute-01');
  assert.not.match(out, /fatal|Unable to process|Bad value|error: Parse/i, out);
  assert.match(out, /Gres Name=gpu Type=emulated .*File=\S+\/dev\/pharos-gpu0/);
  assert.match(out, /Gres Name=gpu Type=emulated .*File=\S+\/dev\/pharos-gpu1/);
  assert.not.match(out, 'not a valid character or block device');
  // Real GPUs: the config parses; slurmd then looks for the driver's device file.
  const example = await rendered('example');
  const ex = await slurmdCheck(example.out, 'hpc-cluster-compute-02');
  assert.not.match(ex, /Unable to process|Bad value|error: Parse/i, ex);
  assert.match(ex, '/dev/nvidia0');
  // And the check can fail: a bad value is reported.
  const bad = await slurmdCheck(local.out, 'pharos-compute-01', 'PartitionName=broken Nodes=pharos-compute-01 MaxTime=soon\n');
  assert.match(bad, 'Unable to process configuration file');
});

test.after(async () => {
  for (const r of renders.values()) {
    const x = await r.catch(() => undefined);
    if (x) rmSync(x.dir, { recursive: true, force: true });
  }
});

test.run();
