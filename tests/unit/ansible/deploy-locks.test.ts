/**
 * Parallel deploys (tasks/host-locks.ts, the `touches` of tasks/roles.ts):
 * deploys on disjoint hosts hold their locks at once, overlapping ones take
 * turns first come first served, an interrupted waiter leaves the queue; the
 * hosts each role of the local default touches (delegated tasks included)
 * come from the real inventory, and every role that delegates a task to
 * another group says so in the catalogue.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostLocks } from '../../../tasks/host-locks.js';
import { deployRoles, ROLE_CATALOGUE } from '../../../tasks/roles.js';
import { buildInventory } from '../../../lib/inventory/index.js';
import { groupTable } from '../../../lib/inventory/groups.js';
import { ANSIBLE_DIR } from '../../../lib/tools/ansible.js';
import { PharosError } from '../../../lib/errors.js';
import { examplePlan, localAccess, localPlan, natAccess } from './plans.js';

/** Lets every settled promise run its callbacks (ordering, not time). */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function track<T>(p: Promise<T>): { p: Promise<T>; done: () => boolean } {
  let d = false;
  void p.then(
    () => (d = true),
    () => (d = true),
  );
  return { p, done: () => d };
}

test('disjoint hosts are held at once; an overlapping deploy waits for the release', async () => {
  const locks = new HostLocks();
  const a = track(locks.acquire('deploy:slurm-controller', ['ctl']));
  const b = track(locks.acquire('deploy:nfs-client', ['c1', 'c2']));
  const c = track(locks.acquire('deploy:monitoring', ['ctl', 'c1', 'c2']));
  await settle();
  assert.ok(a.done() && b.done(), 'disjoint deploys both run');
  assert.not.ok(c.done(), 'the overlapping one waits');
  assert.equal(locks.holders(['ctl', 'c1', 'c2']), ['deploy:nfs-client', 'deploy:slurm-controller']);
  (await a.p)();
  await settle();
  assert.not.ok(c.done(), 'still waiting for c1, c2');
  const releaseB = await b.p;
  releaseB();
  releaseB();
  await settle();
  assert.ok(c.done(), 'granted once every host is free');
  (await c.p)();
  assert.equal(locks.holders(['ctl', 'c1', 'c2']), []);
});

test('first come first served: a later deploy never overtakes an earlier waiter on a shared host', async () => {
  const locks = new HostLocks();
  const a = await locks.acquire('a', ['x']);
  const b = track(locks.acquire('b', ['x', 'y']));
  const c = track(locks.acquire('c', ['y']));
  const d = track(locks.acquire('d', ['z']));
  await settle();
  assert.ok(d.done(), 'an unrelated host is free');
  assert.not.ok(b.done() || c.done(), 'c waits behind b, which holds y in reserve');
  a();
  await settle();
  assert.ok(b.done());
  assert.not.ok(c.done());
  (await b.p)();
  await settle();
  assert.ok(c.done());
});

test('an interrupted waiter leaves the queue with exit 130, and the next one proceeds', async () => {
  const locks = new HostLocks();
  const a = await locks.acquire('a', ['x']);
  const ac = new AbortController();
  const b = locks.acquire('b', ['x', 'y'], ac.signal);
  const c = track(locks.acquire('c', ['y']));
  ac.abort();
  try {
    await b;
    assert.unreachable('b was interrupted');
  } catch (e) {
    assert.instance(e, PharosError);
    assert.is((e as PharosError).exitCode, 130);
  }
  await settle();
  assert.ok(c.done(), 'y is no longer reserved for b');
  a();
});

test('local default: each deploy touches its group and the groups it delegates to', () => {
  const plan = localPlan();
  const groups = groupTable(buildInventory(plan, localAccess()));
  const hostsOf = (role: string): string[] => {
    const r = deployRoles(plan).find((x) => x.role === role);
    assert.ok(r, role);
    return [...new Set(r.touches.flatMap((g) => groups[g] ?? []))].sort();
  };
  assert.equal(groups.hpc, ['pharos-compute-01', 'pharos-compute-02', 'pharos-controller']);
  assert.equal(hostsOf('slurm-controller'), ['pharos-controller']);
  assert.equal(hostsOf('nfs-client'), ['pharos-compute-01', 'pharos-compute-02']);
  // sinfo and scontrol resume run on the compute nodes themselves: the controller stays free.
  assert.equal(hostsOf('slurm-compute'), ['pharos-compute-01', 'pharos-compute-02']);
  // The BeeGFS example: a client deploy holds the management node too.
  const ex = examplePlan();
  const exGroups = groupTable(buildInventory(ex, natAccess('hpc-cluster')));
  const client = deployRoles(ex).find((r) => r.role === 'beegfs-meta');
  assert.ok(client?.touches.includes('beegfs_mgmt'));
  assert.ok((exGroups.beegfs_mgmt ?? []).length > 0);
});

test('every role that delegates a deploy-time task to another group names it in `reaches`', () => {
  const files = ['tasks/configure.yml', 'tasks/validate.yml', 'handlers/main.yml'];
  for (const spec of ROLE_CATALOGUE) {
    const delegates = [spec.role, ...(spec.uses ?? [])].some((r) =>
      files.some((f) => {
        const p = join(ANSIBLE_DIR, 'roles', r, f);
        return existsSync(p) && /^\s*delegate_to:/m.test(readFileSync(p, 'utf8'));
      }),
    );
    // `hpc` is every node: nothing lies outside it.
    if (delegates && spec.hosts !== 'hpc') assert.ok((spec.reaches ?? []).length > 0, `${spec.role} delegates tasks: list the groups in reaches`);
  }
});

test.run();
