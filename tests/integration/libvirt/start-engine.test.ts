/**
 * `pharos cluster start` for nodes on Pharos-built images with no image
 * directory: it builds the `vms` alias through the engine (here a stand-in
 * project whose `vms` target starts the tiny TCG guests) and prints the
 * cluster's status table; a failing VM target fails the command through the
 * engine's report, with no status printed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../../lib/tools/exec.js';
import { cleanup, clusterName, leftovers, sandbox, URI, type Sandbox } from './helpers.js';

let sb: Sandbox;
test.before(async () => {
  sb = await sandbox();
});
test.after(async () => {
  await cleanup(sb);
});

const BIN = fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** A project root: a config whose nodes boot built images, and a build file whose `vms` target starts them on the tiny guest. */
function project(name: string): { root: string; env: NodeJS.ProcessEnv } {
  const root = join(sb.stateRoot, `project-${name}`);
  mkdirSync(root, { recursive: true });
  // ESM, like the repository's own build file.
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  const octet = (parseInt(sb.id.slice(0, 2), 16) % 200) + 20;
  writeFileSync(
    join(root, 'cluster.yaml'),
    `version: "1.0"
metadata:
  name: "pht-engine"
  description: "cluster start through the engine"
clusters:
  hpc:
    name: "${name}"
    libvirt_uri: "${URI}"
    network:
      mode: user
      subnet: "10.${octet}.249.0/24"
      bridge: "pht${sb.id}e"
    hardware:
      acceleration:
        mode: tcg
    controller:
      cpu_cores: 1
      memory_gb: 1
      disk_gb: 2
      ip_address: "10.${octet}.249.10"
    compute_nodes:
      - cpu_cores: 1
        memory_gb: 1
        disk_gb: 2
        ip: "10.${octet}.249.11"
    slurm_config:
      partitions: ["debug"]
      default_partition: "debug"
`,
  );
  const g = sb.guest;
  writeFileSync(
    join(root, 'pharos.build.ts'),
    `import { alias, target } from ${JSON.stringify(join(REPO, 'lib/index.js'))};
import { loadConfig, planSystem } from ${JSON.stringify(join(REPO, 'lib/config/index.js'))};
import { clusterEnv, startCluster } from ${JSON.stringify(join(REPO, 'lib/cluster/ops.js'))};

export default async function (ctx) {
  const plan = planSystem(await loadConfig(ctx.configPath, { env: ctx.env, root: ctx.root }), { env: ctx.env }).clusters[0];
  const vms = target({
    name: 'vm:all',
    always: true,
    run: async () => {
      if (process.env.PHT_FAIL) throw new Error('injected VM target failure');
      const images = {};
      for (const n of plan.nodes) {
        if (n.image.kind !== 'built') throw new Error('the test config must use built images');
        images[n.name] = { image: ${JSON.stringify(g.base)}, kernel: ${JSON.stringify(g.kernel)}, initrd: ${JSON.stringify(g.initrd)}, cmdline: 'console=ttyS0 panic=-1 quiet' };
      }
      const rep = await startCluster(plan, images, clusterEnv(plan), { waitSsh: false, pinHostKeys: false });
      return { vms: rep.vms.length };
    },
  });
  return { targets: [vms], aliases: [alias('vms', [vms])] };
}
`,
  );
  return { root, env: { ...process.env, PHAROS_STATE_DIR: sb.stateRoot, PHAROS_DATA_DIR: sb.dataRoot, PHAROS_IMAGES_DIR: '' } };
}

test('built images, no --images-dir: the engine builds `vms`, then the status table', async () => {
  const name = clusterName(sb);
  const { root, env } = project(name);
  const r = await exec('node', [BIN, '-C', root, '-c', join(root, 'cluster.yaml'), 'cluster', 'start'], { env, okCodes: [0, 1, 2], timeoutMs: 300_000 });
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, 'no image directory was given');
  assert.match(r.stderr, 'vm:all', 'the engine reported the VM target');
  assert.match(r.stdout, `cluster ${name} (${URI})`);
  assert.is(r.stdout.match(/ running /g)?.length, 2, r.stdout);

  // --json: stdout is the status document alone
  const j = await exec('node', [BIN, '-C', root, '-c', join(root, 'cluster.yaml'), '--json', 'cluster', 'start'], { env, okCodes: [0, 1, 2], timeoutMs: 300_000 });
  assert.is(j.code, 0, j.stderr);
  const st = JSON.parse(j.stdout) as { cluster: string; vms: { state: string }[] };
  assert.is(st.cluster, name);
  assert.equal(st.vms.map((v) => v.state), ['running', 'running']);

  const d = await exec('node', [BIN, 'cluster', 'destroy', name, '--yes'], { env });
  assert.match(d.stdout, 'removed:');
  assert.equal(await leftovers(name), []);
});

test('a failing VM target fails cluster start through the engine, with no status', async () => {
  const name = clusterName(sb);
  const { root, env } = project(name);
  const r = await exec('node', [BIN, '-C', root, '-c', join(root, 'cluster.yaml'), 'cluster', 'start'], { env: { ...env, PHT_FAIL: '1' }, okCodes: [0, 1, 2], timeoutMs: 120_000 });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, 'injected VM target failure');
  assert.is(r.stdout, '');
  assert.equal(await leftovers(name), []);
});

test.run();
