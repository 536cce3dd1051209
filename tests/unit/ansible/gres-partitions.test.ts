/**
 * GPU partitions as Slurm GRES: vGPUs (mdev) are GPUs of their mdev type on
 * the next /dev/nvidiaK; a GPU split by MIG counts as its instances, typed by
 * profile. The lines are checked exactly, through the inventory, and by
 * Debian's slurmd 22.05 (`slurmd -G`, the version the guests run) parsing a
 * slurm.conf and gres.conf made of them. Nodes without partitions are the
 * existing tests' business (inventory.test.ts, render.test.ts): unchanged.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInventory, gpuDevices, gresLines, migGres, slurmGres, slurmGresType } from '../../../lib/inventory/index.js';
import { exec } from '../../../lib/tools/exec.js';
import type { ClusterPlan, NodePlan } from '../../../lib/model.js';
import { examplePlan, natAccess } from './plans.js';
import { requireTool } from './helpers.js';

const U = (n: number): string => `aaaaaaaa-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** compute-01: its GPU split by MIG (3 × 1g.18gb, 1 × 1g.18gb+me); compute-02: no GPU passed through, two vGPUs. */
function partitionPlan(): ClusterPlan {
  const p = examplePlan();
  const [ctrl, c1, c2] = p.nodes as [NodePlan, NodePlan, NodePlan];
  c1.partitions = [
    { kind: 'mig', parent: c1.pcie[0]!.address, profile: '1g.18gb', count: 3 },
    { kind: 'mig', parent: c1.pcie[0]!.address, profile: '1g.18gb+me', count: 1 },
  ];
  const vgpu: NodePlan = { ...c2, pcie: [], partitions: [{ kind: 'mdev', parent: '0000:41:00.0', mdevType: 'nvidia-558', uuids: [U(1), U(2)] }] };
  return { ...p, nodes: [ctrl, c1, vgpu] };
}

test('type names keep only what Slurm can split on', () => {
  assert.is(slurmGresType('1g.10gb'), '1g.10gb');
  assert.is(slurmGresType('1g.10gb+me'), '1g.10gb_me');
  assert.is(slurmGresType('nvidia-558'), 'nvidia_558');
  assert.is(slurmGresType('a:b,c=d e'), 'a_b_c_d_e');
});

test('GRES of MIG and vGPU nodes, exactly', () => {
  const [, mig, vgpu] = partitionPlan().nodes as [NodePlan, NodePlan, NodePlan];
  assert.equal(gpuDevices(mig), [{ type: 'nvidia_2805', file: '/dev/nvidia0', mig: true }]);
  assert.equal(migGres(mig), [{ type: '1g.18gb', count: 3 }, { type: '1g.18gb_me', count: 1 }]);
  assert.is(slurmGres(gpuDevices(mig), migGres(mig)), 'gpu:1g.18gb:3,gpu:1g.18gb_me:1');
  assert.equal(gresLines(mig), [
    'NodeName=hpc-cluster-compute-01 Name=gpu Type=1g.18gb Count=3',
    'NodeName=hpc-cluster-compute-01 Name=gpu Type=1g.18gb_me Count=1',
  ]);
  assert.equal(gpuDevices(vgpu), [{ type: 'nvidia_558', file: '/dev/nvidia0' }, { type: 'nvidia_558', file: '/dev/nvidia1' }]);
  assert.is(slurmGres(gpuDevices(vgpu), migGres(vgpu)), 'gpu:nvidia_558:2');
  assert.equal(gresLines(vgpu), [
    'NodeName=hpc-cluster-compute-02 Name=gpu Type=nvidia_558 File=/dev/nvidia0',
    'NodeName=hpc-cluster-compute-02 Name=gpu Type=nvidia_558 File=/dev/nvidia1',
  ]);
});

test('the inventory carries them: slurm_gres per host, the gres lines for gres.conf', () => {
  const inv = buildInventory(partitionPlan(), natAccess('hpc-cluster'));
  assert.is(inv.hosts['hpc-cluster-compute-01']!['slurm_gres'], 'gpu:1g.18gb:3,gpu:1g.18gb_me:1');
  assert.is(inv.hosts['hpc-cluster-compute-02']!['slurm_gres'], 'gpu:nvidia_558:2');
  assert.is(inv.hosts['hpc-cluster-compute-02']!['gpu_emulated'], false);
  const all = JSON.stringify(inv.groups.map((g) => g.vars));
  assert.match(all, 'NodeName=hpc-cluster-compute-01 Name=gpu Type=1g.18gb Count=3');
  assert.match(all, 'NodeName=hpc-cluster-compute-02 Name=gpu Type=nvidia_558 File=/dev/nvidia1');
});

async function slurmdG(slurmConf: string, gresConf: string, node: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-slurmd-gres-'));
  try {
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'slurm.conf'), slurmConf.replaceAll('@DIR@', dir));
    // The guest driver's device files (character devices, major 195), under the temp dir.
    mkdirSync(join(dir, 'dev'));
    const text = gresConf.replaceAll('/dev/nvidia', join(dir, 'dev', 'nvidia'));
    for (const k of new Set([...text.matchAll(/dev\/nvidia(\d+)$/gm)].map((x) => x[1]!))) {
      await exec('mknod', [join(dir, 'dev', `nvidia${k}`), 'c', '195', k], { pkg: 'coreutils' });
    }
    writeFileSync(join(dir, 'gres.conf'), text);
    const r = await exec('slurmd', ['-G', '-f', join(dir, 'slurm.conf'), '-N', node], { okCodes: [0, 1], timeoutMs: 60_000, timeoutWhat: 'slurmd -G', pkg: 'slurmd' });
    return r.stdout + r.stderr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function slurmConf(nodes: NodePlan[]): string {
  return [
    'ClusterName=t', 'SlurmctldHost=ctl', 'SlurmdSpoolDir=@DIR@/lib', 'StateSaveLocation=@DIR@/lib', 'SlurmdPidFile=@DIR@/slurmd.pid',
    'GresTypes=gpu', 'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none',
    ...nodes.map((n) => `NodeName=${n.name} CPUs=1 RealMemory=500 Gres=${slurmGres(gpuDevices(n), migGres(n))} State=UNKNOWN`),
    `PartitionName=debug Nodes=${nodes.map((n) => n.name).join(',')} Default=YES`,
    '',
  ].join('\n');
}

test('Debian slurmd 22.05 parses the GRES of MIG and vGPU nodes (slurmd -G)', async () => {
  await requireTool('slurmd', 'slurmd');
  const [, mig, vgpu] = partitionPlan().nodes as [NodePlan, NodePlan, NodePlan];
  const conf = slurmConf([mig, vgpu]);
  const gres = [...gresLines(mig), ...gresLines(vgpu)].join('\n') + '\n';
  // slurmd -G prints only GRES with device files; count-only records are
  // parsed all the same: a bad one is fatal, one that disagrees with
  // slurm.conf's Gres= is a WARNING.
  const bad = /fatal|WARNING|Unable to process|Bad value|error/i;
  const m = await slurmdG(conf, gres, mig.name);
  assert.not.match(m, bad, m);
  const v = await slurmdG(conf, gres, vgpu.name);
  assert.not.match(v, bad, v);
  assert.match(v, /Gres Name=gpu Type=nvidia_558 Count=1 Index=0 .*File=\S+\/dev\/nvidia0/);
  assert.match(v, /Gres Name=gpu Type=nvidia_558 Count=1 Index=1 .*File=\S+\/dev\/nvidia1/);
  // The check can fail: mixing File and no File on one node is fatal, and an
  // unsanitised profile (`+`) no longer matches slurm.conf.
  assert.match(await slurmdG(conf, `${gres}NodeName=${mig.name} Name=gpu Type=x File=/dev/null\n`, mig.name), /fatal/);
  assert.match(await slurmdG(conf, gres.replace('Type=1g.18gb_me', 'Type=1g.18gb+me'), mig.name), /WARNING.*1g\.18gb\+me/);
});

test.run();
