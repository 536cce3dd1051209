/**
 * GPU partitions in the domain XML: a golden domain with two vGPU mediated
 * devices (checked with libvirt's RNG schema by `virt-xml-validate` and
 * defined in real virsh on test:///default), and no change at all for a node
 * without partitions or with MIG only (MIG rides on the GPU's PCI hostdev).
 * Regenerate the golden file with PHAROS_UPDATE_GOLDEN=1 and review the diff.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { domainXml, specHash } from '../../../lib/libvirt/domain.js';
import { clusterEnv, buildDomainSpec } from '../../../lib/cluster/ops.js';
import { mdevUuidFor } from '../../../lib/config/plan.js';
import { exec } from '../../../lib/tools/exec.js';
import type { ClusterPlan, NodePlan } from '../../../lib/model.js';
import { exampleHpcPlan } from './plans.js';

const GOLDEN = fileURLToPath(new URL('../../fixtures/golden/', import.meta.url));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPharosGoldenTestKeyPharosGoldenTestKey0 pharos-golden';
const scratch = mkdtempSync(join(tmpdir(), 'pht-mdev-xml-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

function spec(plan: ClusterPlan, node: NodePlan) {
  const env = clusterEnv(plan, { stateRoot: '/var/lib/pharos-golden/state', dataRoot: '/var/lib/pharos-golden' });
  return buildDomainSpec(plan, env, { node, image: { image: `/images/${node.role}.qcow2` }, disk: `/var/lib/pharos-golden/pools/${plan.name}/${node.name}.qcow2`, authorizedKey: KEY });
}

function vgpuNode(plan: ClusterPlan): NodePlan {
  const n = { ...plan.nodes[1]!, pcie: [] };
  n.partitions = [{ kind: 'mdev', parent: '0000:41:00.0', mdevType: 'nvidia-558', uuids: [0, 1].map((i) => mdevUuidFor(n.name, '0000:41:00.0', 'nvidia-558', i)) }];
  return n;
}

test('vGPU node: one mdev hostdev per UUID, valid for libvirt, matches its golden file', async () => {
  const plan = exampleHpcPlan();
  const xml = domainXml(spec(plan, vgpuNode(plan)));
  const file = join(GOLDEN, 'domain-mdev-compute.xml');
  if (process.env['PHAROS_UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, xml);
  }
  assert.ok(existsSync(file), `golden file ${file} is missing (create it with PHAROS_UPDATE_GOLDEN=1)`);
  assert.fixture(xml, readFileSync(file, 'utf8'));
  assert.is(xml.match(/<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci' display='off'>/g)?.length, 2);
  assert.match(xml, "<graphics type='vnc'", 'a vGPU with display off leaves the emulated console');
  const tmp = join(scratch, 'mdev.xml');
  writeFileSync(tmp, xml);
  const v = await exec('virt-xml-validate', [tmp, 'domain'], { okCodes: [0, 1, 2, 3, 4, 5] });
  assert.is(v.code, 0, `fails libvirt's schema:\n${v.stderr}${v.stdout}`);
  // Real virsh parses it (the test driver defines, never starts).
  const d = await exec('virsh', ['-c', 'test:///default', 'define', tmp], { okCodes: [0, 1] });
  assert.is(d.code, 0, d.stderr);
});

test('no partitions, or MIG only: the spec (and its hash) is the one without the feature', () => {
  const plan = exampleHpcPlan();
  const base = plan.nodes[1]!;
  const s0 = spec(plan, base);
  assert.is(s0.mdev, undefined);
  const migOnly = { ...base, partitions: [{ kind: 'mig' as const, parent: base.pcie[0]!.address, profile: '1g.10gb', count: 3 }] };
  const s1 = spec(plan, migOnly);
  assert.is(specHash(s1), specHash(s0));
  assert.is(domainXml(s1), domainXml(s0));
  assert.not.match(domainXml(spec(plan, vgpuNode(plan))), /type='mdev'[\s\S]*type='mdev'[\s\S]*type='mdev'/);
});

test('a malformed UUID in a hand-made spec is refused, never written into the XML', () => {
  const plan = exampleHpcPlan();
  const s = { ...spec(plan, vgpuNode(plan)), mdev: ["x'/><evil"] };
  assert.throws(() => domainXml(s), /not a lower-case UUID/);
});

test.run();
