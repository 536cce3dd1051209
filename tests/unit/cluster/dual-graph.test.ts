/**
 * The two-stack config (config/local-dual.yaml) in this repository's build
 * graph: the cloud cluster gets its images, VMs, deploys, the offline image
 * preload and only the suites marked `# @cluster cloud`; the HPC cluster keeps
 * exactly the targets the local default gives it.
 */
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import graph from '../../../pharos.build.js';
import { REPO_ROOT } from '../../../lib/config/load.js';

const names = async (config: string): Promise<{ targets: string[]; deps: Map<string, string[]>; aliases: Map<string, string[]> }> => {
  const d = await graph({ root: REPO_ROOT, configPath: join(REPO_ROOT, 'config', config), env: { ...process.env } });
  const deps = new Map(d.targets.map((t) => [t.name, Object.values(t.spec.deps ?? {}).map((x) => x.name)]));
  const aliases = new Map((d.aliases ?? []).map((a) => [a.name, a.members.map((m) => (typeof m === 'string' ? m : m.name))]));
  return { targets: d.targets.map((t) => t.name), deps, aliases };
};

test('the cloud cluster: images, VMs, deploys, preload, cloud suites', async () => {
  const { targets, deps, aliases } = await names('local-dual.yaml');
  for (const t of [
    'image:cloud-base',
    'vm:pharos-cloud-control-plane',
    'vm:pharos-cloud-cpu-worker-01',
    'inventory:pharos-cloud',
    'deploy:cloud-node',
    'deploy:kubernetes',
    'preload:pharos-cloud:minimal',
    'test:cloud-nodes',
    'test:kubernetes',
  ])
    assert.ok(targets.includes(t), `${t} is in the graph`);
  assert.not.ok(targets.includes('image:cloud-gpu-worker'), 'no GPU worker: no GPU image');
  assert.ok(deps.get('vm:pharos-cloud-control-plane')?.includes('image:cloud-base'));
  assert.ok(deps.get('test:cloud-nodes')?.includes('preload:pharos-cloud:minimal'), 'the cloud suite waits for the preload');
  assert.ok(deps.get('test:kubernetes')?.includes('deploy:kubernetes'));
  // `# @deploys cloud-node`: the node suite does not wait for Kubernetes, which is unavailable where its repository is unreachable.
  assert.ok(deps.get('test:cloud-nodes')?.includes('deploy:cloud-node'));
  assert.not.ok(deps.get('test:cloud-nodes')?.includes('deploy:kubernetes'), 'test:cloud-nodes does not wait for deploy:kubernetes');
  assert.not.ok(deps.get('test:slurm-controller')?.some((d) => d.includes('cloud')), 'HPC suites do not wait on the cloud cluster');
  assert.ok(aliases.get('cluster')?.includes('deploy:kubernetes'), '`cluster` builds both stacks');
  assert.ok(aliases.get('e2e')?.includes('test:cloud-nodes'));
});

test('the HPC cluster is the same with or without the cloud one beside it', async () => {
  const single = await names('local.yaml');
  const dual = await names('local-dual.yaml');
  const hpcOnly = (ts: string[]): string[] => ts.filter((t) => !t.includes('cloud') && t !== 'deploy:kubernetes' && t !== 'test:kubernetes' && t !== 'image:container:minimal' && t !== 'push:pharos:minimal');
  assert.equal(hpcOnly(dual.targets), hpcOnly(single.targets));
  assert.not.ok(single.targets.some((t) => t.includes('cloud') || t === 'test:kubernetes'), 'no cloud targets for an HPC-only config');
});

test.run();
