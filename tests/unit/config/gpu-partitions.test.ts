/**
 * `gpu_partitions` from a real config file: the plan (stable derived mdev
 * UUIDs, given UUIDs kept, MIG entries), and each bad input rejected with one
 * clear problem naming its line and field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../lib/config/load.js';
import { mdevUuidFor, planSystem } from '../../../lib/config/plan.js';
import { planText } from '../../../lib/config/render-plan.js';
import { mdevInstances } from '../../../lib/model.js';
import { assertExpected, HOST, rejectDetails } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'pht-gpu-config-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** A two-compute cluster; `a` and `b` are the YAML lines added to each compute. */
function config(a: string, b = ''): string {
  return `version: "1.0"
metadata:
  name: "gpu-test"
  description: "gpu partitions"
clusters:
  hpc:
    name: "g"
    network:
      subnet: "10.88.0.0/24"
      bridge: "g-br0"
    controller:
      cpu_cores: 1
      memory_gb: 1
      disk_gb: 4
      ip_address: "10.88.0.10"
    compute_nodes:
      - cpu_cores: 1
        memory_gb: 1
        disk_gb: 4
        ip: "10.88.0.11"
${a}      - cpu_cores: 1
        memory_gb: 1
        disk_gb: 4
        ip: "10.88.0.12"
${b}    slurm_config:
      partitions: ["debug"]
      default_partition: "debug"
`;
}

const MDEV = `        gpu_partitions:
          - type: mdev
            parent: "0000:41:00.0"
            mdev_type: nvidia-558
            count: 2
`;
const MIG = `        pcie_passthrough:
          enabled: true
          devices:
            - pci_address: "0000:01:00.0"
              device_type: gpu
              vendor_id: "10de"
              device_id: "2330"
        gpu_partitions:
          - type: mig
            parent: "0000:01:00.0"
            profile: 1g.10gb
            count: 3
          - type: mig
            parent: "0000:01:00.0"
            profile: 3g.40gb+me
            count: 1
`;

function write(text: string): string {
  const file = join(dir, `c${Math.random().toString(16).slice(2)}.yaml`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, text);
  return file;
}

async function planOf(text: string) {
  return planSystem(await loadConfig(write(text), { env: { HOME: '/home/tester' }, host: HOST }), { env: {} }).clusters[0]!;
}

test('plan: mdev UUIDs derived from node, parent, type and index; MIG entries kept; other nodes have no partitions field', async () => {
  const c = await planOf(config(MDEV, MIG));
  const [ctrl, c1, c2] = c.nodes;
  assert.is(ctrl!.partitions, undefined);
  const u0 = mdevUuidFor('g-compute-01', '0000:41:00.0', 'nvidia-558', 0);
  const u1 = mdevUuidFor('g-compute-01', '0000:41:00.0', 'nvidia-558', 1);
  assert.match(u0, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.is.not(u0, u1);
  assert.equal(c1!.partitions, [{ kind: 'mdev', parent: '0000:41:00.0', mdevType: 'nvidia-558', uuids: [u0, u1] }]);
  assert.equal(mdevInstances(c1!).map((m) => m.uuid), [u0, u1]);
  assert.equal(c2!.partitions, [
    { kind: 'mig', parent: '0000:01:00.0', profile: '1g.10gb', count: 3 },
    { kind: 'mig', parent: '0000:01:00.0', profile: '3g.40gb+me', count: 1 },
  ]);
  const sys = planSystem(await loadConfig(write(config(MDEV, MIG)), { env: { HOME: '/home/tester' }, host: HOST }), { env: {} });
  assert.match(planText(sys), '2 × nvidia-558 on 0000:41:00.0');
  assert.match(planText(sys), '3 × MIG 1g.10gb on 0000:01:00.0');
  // Stable: the same config plans the same UUIDs again.
  assert.equal((await planOf(config(MDEV, MIG))).nodes[1]!.partitions, c1!.partitions);
});

test('plan: given uuids are kept (lower-cased)', async () => {
  const c = await planOf(config(MDEV.replace('count: 2\n', 'count: 1\n            uuids: ["AAAAAAAA-0000-4000-8000-000000000001"]\n')));
  assert.equal(mdevInstances(c.nodes[1]!), [{ parent: '0000:41:00.0', mdevType: 'nvidia-558', uuid: 'aaaaaaaa-0000-4000-8000-000000000001' }]);
});

const BAD: { name: string; a: string; b?: string; line: number; field: string; message: string; hint?: string }[] = [
  { name: 'count 0', a: MDEV.replace('count: 2', 'count: 0'), line: 25, field: 'clusters.hpc.compute_nodes[0].gpu_partitions[0].count', message: 'is below 1', hint: 'remove the entry' },
  { name: 'bad MIG profile', a: MIG.replace('profile: 1g.10gb', 'profile: 1g-10gb'), line: 31, field: 'clusters.hpc.compute_nodes[0].gpu_partitions[0].profile', message: '`1g-10gb` is not a MIG profile name', hint: 'nvidia-smi mig -lgip' },
  {
    name: 'mdev parent also passed through whole (other node)',
    a: MDEV.replace('0000:41:00.0', '0000:01:00.0'),
    b: MIG.replace(/        gpu_partitions:[\s\S]*/, ''),
    line: 23,
    field: 'clusters.hpc.compute_nodes[0].gpu_partitions[0].parent',
    message: '0000:01:00.0 is split into mediated devices for g-compute-01 and also passed through whole to g-compute-02',
    hint: 'remove 0000:01:00.0 from pcie_passthrough.devices',
  },
  { name: 'MIG parent not passed through to the node', a: MIG.replace(/        pcie_passthrough:[\s\S]*?(?=        gpu_partitions)/, '').replace(/          - type: mig\n            parent: "0000:01:00.0"\n            profile: 3g[\s\S]*/, ''), line: 23, field: 'clusters.hpc.compute_nodes[0].gpu_partitions[0].parent', message: 'is not a GPU passed through to g-compute-01', hint: 'type: mdev' },
  { name: 'uuids count mismatch', a: MDEV.replace('count: 2\n', 'count: 2\n            uuids: ["aaaaaaaa-0000-4000-8000-000000000001"]\n'), line: 26, field: 'clusters.hpc.compute_nodes[0].gpu_partitions[0].uuids', message: '1 uuids for count 2', hint: 'leave uuids out' },
  {
    name: 'uuid used twice',
    a: MDEV.replace('count: 2\n', 'count: 1\n            uuids: ["aaaaaaaa-0000-4000-8000-000000000001"]\n'),
    b: MDEV.replace('count: 2\n', 'count: 1\n            uuids: ["AAAAAAAA-0000-4000-8000-000000000001"]\n'),
    line: 36,
    field: 'clusters.hpc.compute_nodes[1].gpu_partitions[0].uuids[0]',
    message: 'is also used at g-compute-01 gpu_partitions[0]',
  },
];

for (const b of BAD) {
  test(`rejected, one problem: ${b.name}`, async () => {
    const file = write(config(b.a, b.b));
    const details = await rejectDetails(file, { env: { HOME: '/home/tester' }, host: HOST });
    assert.is(details.length, 1, details.map((d) => `${d.line} ${d.field} ${d.message}`).join('\n'));
    assertExpected(file, details, [{ line: b.line, field: b.field, message: b.message, ...(b.hint ? { hint: b.hint } : {}) }]);
  });
}

test('schema: a mdev_type that is a path, and an unknown key on a MIG entry, are refused', async () => {
  for (const a of [MDEV.replace('mdev_type: nvidia-558', 'mdev_type: "../../x"'), MIG.replace('count: 3', 'count: 3\n            mdev_type: nvidia-558')]) {
    const file = write(config(a));
    const details = await rejectDetails(file, { env: { HOME: '/home/tester' }, host: HOST });
    assert.ok(details.length >= 1);
    assert.ok(details.every((d) => d.file === file && (d.line ?? 0) > 0), JSON.stringify(details));
  }
});

test.run();
