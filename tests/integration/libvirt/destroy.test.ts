/**
 * Real libvirtd: `destroy` removes only what Pharos made for the cluster.
 * Objects defined by hand (no Pharos metadata, not in the cluster's state) that
 * share the cluster's name prefix survive it, through the library and the CLI;
 * `-n` touches nothing for `destroy` and `stop`; without a terminal the CLI
 * refuses to destroy unless `--yes`, on a terminal it asks; and a build refuses
 * to adopt a same-named domain or network Pharos did not create.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as virsh from '../../../lib/tools/virsh.js';
import { exec } from '../../../lib/tools/exec.js';
import { destroyCluster, startCluster } from '../../../lib/cluster/ops.js';
import type { ClusterPlan } from '../../../lib/model.js';
import { cleanup, envFor, imagesFor, leftovers, sandbox, tinyPlan, URI, type Sandbox } from './helpers.js';

let sb: Sandbox;
const handMade: { kind: 'domain' | 'network' | 'pool'; name: string }[] = [];
test.before(async () => {
  sb = await sandbox();
});
test.after(async () => {
  for (const o of handMade) {
    if (o.kind === 'domain') await virsh.domain.undefine(URI, o.name).catch(() => undefined);
    if (o.kind === 'network') await virsh.network.undefine(URI, o.name).catch(() => undefined);
    if (o.kind === 'pool') await virsh.pool.undefine(URI, o.name).catch(() => undefined);
  }
  await cleanup(sb);
});

const BIN = fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url));

/** A domain, a network and a pool defined by hand with the cluster's prefix: no Pharos metadata, no state. */
async function defineByHand(plan: ClusterPlan, tag: string): Promise<string[]> {
  const dom = `${plan.name}-precious${tag}`;
  const net = `${plan.name}-foreign-net${tag}`;
  const pool = `${plan.name}-foreign-pool${tag}`;
  await virsh.domain.define(URI, `<domain type='qemu'><name>${dom}</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
  handMade.push({ kind: 'domain', name: dom });
  await virsh.network.define(URI, `<network><name>${net}</name><bridge name='pht${sb.id}f${tag}'/></network>`);
  handMade.push({ kind: 'network', name: net });
  await virsh.pool.define(URI, `<pool type='dir'><name>${pool}</name><target><path>${sb.dataRoot}/foreign${tag}</path></target></pool>`);
  handMade.push({ kind: 'pool', name: pool });
  return [`domain ${dom}`, `network ${net}`, `pool ${pool}`];
}

async function exists(kind: string, name: string): Promise<boolean> {
  if (kind === 'domain') return (await virsh.domain.state(URI, name)) !== undefined;
  if (kind === 'network') return (await virsh.network.isActive(URI, name)) !== undefined;
  return (await virsh.pool.isActive(URI, name)) !== undefined;
}

test('library: dry run touches nothing; destroy removes the Pharos objects and leaves hand-made ones', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  plan.nodes[0]!.autoStart = false;
  const env = envFor(sb, plan);
  await startCluster(plan, imagesFor(sb, plan), env);
  const mine = [`domain ${plan.nodes[0]!.name}`, `network ${plan.network.libvirtName}`, `pool ${plan.name}-pool`];
  const foreign = await defineByHand(plan, 'a');
  assert.equal((await leftovers(plan.name)).sort(), [...mine, ...foreign].sort());

  const dry = await destroyCluster(plan.name, env, { dryRun: true });
  assert.equal(dry.domains, [plan.nodes[0]!.name]);
  assert.equal(dry.networks, [plan.network.libvirtName]);
  assert.equal(dry.pools, [`${plan.name}-pool`]);
  assert.ok(dry.files.includes(env.paths.stateDir));
  assert.equal(dry.leftAlone.sort(), foreign.map((f) => `${f}: not created by pharos`).sort());
  assert.equal((await leftovers(plan.name)).sort(), [...mine, ...foreign].sort(), 'a dry run removes nothing');
  assert.ok(existsSync(env.paths.stateFile) && existsSync(env.paths.poolDir), 'a dry run keeps state and disks');

  const d = await destroyCluster(plan.name, env);
  assert.equal([d.domains, d.networks, d.pools], [dry.domains, dry.networks, dry.pools]);
  assert.equal(d.leftAlone, dry.leftAlone);
  assert.equal((await leftovers(plan.name)).sort(), foreign.sort(), 'only the hand-made objects survive');
  assert.not.ok(existsSync(env.paths.stateDir));
});

test('CLI: -n stop and -n destroy touch nothing; no terminal and no --yes refuses; a terminal asks; --yes destroys only ours', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  const env = envFor(sb, plan);
  await startCluster(plan, imagesFor(sb, plan), env, { waitSsh: false, pinHostKeys: false });
  const vm = plan.nodes[0]!.name;
  const foreign = await defineByHand(plan, 'b');
  const penv = { ...process.env, PHAROS_STATE_DIR: sb.stateRoot, PHAROS_DATA_DIR: sb.dataRoot };
  const run = (args: string[], input?: string) => exec('node', [BIN, ...args], { env: penv, okCodes: [0, 1, 2], input, timeoutMs: 120_000 });
  const everything = async (): Promise<string[]> => (await leftovers(plan.name)).sort();
  const before = await everything();
  assert.is(await virsh.domain.state(URI, vm), 'running');

  const stop = await run(['-n', 'cluster', 'stop', '--cluster', plan.name]);
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, `${vm}: would-stop`);
  assert.is(await virsh.domain.state(URI, vm), 'running', '-n cluster stop stops nothing');

  const refused = await run(['cluster', 'destroy', plan.name]);
  assert.is(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, 'stdin is not a terminal');
  assert.match(refused.stderr, '--yes');
  assert.not.match(refused.stderr, '    at ', 'no stack trace');
  assert.equal(await everything(), before, 'refused: nothing removed');

  const dry = await run(['-n', 'cluster', 'destroy', plan.name]);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, 'would remove:');
  assert.match(dry.stdout, `domain ${vm}`);
  for (const f of foreign) assert.match(dry.stdout, `${f}: not created by pharos`);
  assert.equal(await everything(), before, '-n cluster destroy removes nothing');
  assert.is(await virsh.domain.state(URI, vm), 'running');

  // On a terminal (a pty from script(1)) it asks; "n" keeps everything.
  const cmd = ['node', BIN, 'cluster', 'destroy', plan.name].map((a) => `'${a}'`).join(' ');
  const asked = await exec('script', ['-qec', cmd, '/dev/null'], { env: penv, okCodes: [0, 1], input: 'n\n', timeoutMs: 120_000 });
  assert.match(asked.stdout, `destroy cluster ${plan.name}? [y/N]`);
  assert.match(asked.stdout, 'not destroyed');
  assert.equal(await everything(), before, 'answered no: nothing removed');

  const yes = await run(['cluster', 'destroy', plan.name, '--yes']);
  assert.is(yes.code, 0, yes.stderr);
  assert.match(yes.stdout, 'removed:');
  assert.match(yes.stdout, 'left alone:');
  for (const f of foreign) assert.match(yes.stdout, `${f}: not created by pharos`);
  assert.equal(await everything(), foreign.sort(), 'only the hand-made objects survive');
  for (const f of foreign) {
    const [kind, name] = f.split(' ') as [string, string];
    assert.ok(await exists(kind, name), `${f} survives`);
  }
});

test('a build refuses to adopt a same-named network or domain Pharos did not create', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  plan.nodes[0]!.autoStart = false;
  const env = envFor(sb, plan);
  const net = plan.network.libvirtName;
  await virsh.network.define(URI, `<network><name>${net}</name><bridge name='pht${sb.id}g'/></network>`);
  handMade.push({ kind: 'network', name: net });
  const e1 = await startCluster(plan, imagesFor(sb, plan), env).then(() => undefined, (e: Error) => e);
  assert.match(e1?.message ?? '', `network ${net} exists`);
  assert.match(e1?.message ?? '', 'not created by pharos');
  assert.match(await virsh.network.dumpxml(URI, net), `pht${sb.id}g`, 'the hand-made network is unchanged');
  await virsh.network.undefine(URI, net);

  const dom = plan.nodes[0]!.name;
  await virsh.domain.define(URI, `<domain type='qemu'><name>${dom}</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>`);
  handMade.push({ kind: 'domain', name: dom });
  const e2 = await startCluster(plan, imagesFor(sb, plan), env).then(() => undefined, (e: Error) => e);
  assert.match(e2?.message ?? '', `domain ${dom} exists and was not created by pharos`);
  assert.not.match(await virsh.domain.dumpxml(URI, dom, true), 'pharos', 'the hand-made domain is unchanged');
  assert.equal(await leftovers(plan.name), [`domain ${dom}`], 'the failed start rolled back what it made, and only that');
});

test.run();
