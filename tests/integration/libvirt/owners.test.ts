/**
 * Real libvirtd: two checkouts, one cluster name. The checkout that created the
 * cluster owns the name; the other's start, network, stop and destroy (library
 * and CLI) stop with an error naming the owner and change nothing; the owner's
 * destroy releases the name; a record whose checkout was deleted is taken over.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from '../../../lib/tools/exec.js';
import { clusterEnv, destroyCluster, ensureNetwork, startCluster, stopCluster } from '../../../lib/cluster/ops.js';
import { clusterOwnerFile, readClusterOwner } from '../../../lib/cluster/owners.js';
import { cleanup, imagesFor, leftovers, sandbox, tinyPlan, type Sandbox } from './helpers.js';

let sb: Sandbox;
test.before(async () => {
  sb = await sandbox();
});
test.after(async () => {
  await cleanup(sb);
});

const BIN = fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url));

function checkout(name: string): string {
  const d = join(sb.stateRoot, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'pharos.build.ts'), 'export default () => ({ targets: [] });\n');
  return d;
}

async function refusal(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => undefined, (x: unknown) => x as Error);
  assert.ok(e, 'must refuse');
  return e!;
}

test('a second checkout cannot start, change, stop or destroy the first one\'s cluster', async () => {
  const a = checkout('checkout-a');
  const b = checkout('checkout-b');
  const plan = tinyPlan(sb, { nodes: 1 });
  plan.nodes[0]!.autoStart = false;
  const logs: string[] = [];
  const envA = clusterEnv(plan, { stateRoot: sb.stateRoot, dataRoot: sb.dataRoot, owner: a, log: (l) => logs.push(l) });
  const envB = clusterEnv(plan, { stateRoot: sb.stateRoot, dataRoot: sb.dataRoot, owner: b, log: (l) => logs.push(l) });
  await startCluster(plan, imagesFor(sb, plan), envA);
  assert.is((await readClusterOwner(sb.stateRoot, plan.name))?.owner, a);
  const made = (await leftovers(plan.name)).sort();
  assert.is(made.length, 3);

  const attempts: [string, () => Promise<unknown>][] = [
    ['start', () => startCluster(plan, imagesFor(sb, plan), envB)],
    ['network', () => ensureNetwork(plan, envB)],
    ['stop', () => stopCluster(plan.name, envB)],
    ['destroy', () => destroyCluster(plan.name, envB)],
    ['destroy -n', () => destroyCluster(plan.name, envB, { dryRun: true })],
  ];
  for (const [what, attempt] of attempts) {
    const e = await refusal(attempt());
    assert.match(e.message, `cluster ${plan.name} belongs to another checkout: ${a}`, what);
  }
  assert.equal((await leftovers(plan.name)).sort(), made, 'the refused commands changed nothing');
  assert.ok(existsSync(envA.paths.stateFile));

  // the same through the CLI, from checkout B (-C) and from inside it (cwd)
  const penv = { ...process.env, PHAROS_STATE_DIR: sb.stateRoot, PHAROS_DATA_DIR: sb.dataRoot };
  const fromB = await exec('node', [BIN, '-C', b, 'cluster', 'destroy', plan.name, '--yes'], { env: penv, okCodes: [0, 1, 2] });
  assert.is(fromB.code, 1, fromB.stdout);
  assert.match(fromB.stderr, `belongs to another checkout: ${a}`);
  assert.match(fromB.stderr, `cd ${a} && pharos cluster destroy ${plan.name}`);
  assert.not.match(fromB.stderr, '    at ', 'no stack trace');
  const inB = await exec('node', [BIN, 'cluster', 'stop', '--cluster', plan.name], { env: penv, cwd: b, okCodes: [0, 1, 2] });
  assert.is(inB.code, 1, inB.stdout);
  assert.match(inB.stderr, `belongs to another checkout: ${a}`);
  assert.equal((await leftovers(plan.name)).sort(), made);

  // the owner destroys it, which releases the name; then B may create it
  const fromA = await exec('node', [BIN, '-C', a, 'cluster', 'destroy', plan.name, '--yes'], { env: penv, okCodes: [0, 1, 2] });
  assert.is(fromA.code, 0, fromA.stderr);
  assert.equal(await leftovers(plan.name), []);
  assert.not.ok(existsSync(clusterOwnerFile(sb.stateRoot, plan.name)), 'destroy released the name');
  await startCluster(plan, imagesFor(sb, plan), envB);
  assert.is((await readClusterOwner(sb.stateRoot, plan.name))?.owner, b);

  // B's checkout is deleted: its record is stale, A takes the cluster over (warned) and may destroy it
  rmSync(b, { recursive: true });
  logs.length = 0;
  await startCluster(plan, imagesFor(sb, plan), envA);
  assert.is((await readClusterOwner(sb.stateRoot, plan.name))?.owner, a);
  assert.ok(logs.some((l) => l.includes(`was owned by ${b}, which no longer exists`)), logs.join('\n'));
  await destroyCluster(plan.name, envA);
  assert.equal(await leftovers(plan.name), []);
  assert.not.ok(existsSync(clusterOwnerFile(sb.stateRoot, plan.name)));
});

test('a failed first start releases the name it claimed', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  const env = clusterEnv(plan, { stateRoot: sb.stateRoot, dataRoot: sb.dataRoot, owner: checkout('checkout-c') });
  const e = await refusal(startCluster(plan, imagesFor(sb, plan), env, { beforeDefine: () => { throw new Error('injected failure'); } }));
  assert.match(e.message, 'injected failure');
  assert.equal(await leftovers(plan.name), []);
  assert.not.ok(existsSync(clusterOwnerFile(sb.stateRoot, plan.name)));
});

test.run();
