/**
 * Restart handlers that skip a daemon the same run has just started. A handler
 * guarded by `<var>.status.ActiveState` (the state the start task found before
 * it acted) is only right when:
 * - `<var>` is registered by a `systemd_service` task of the same role that
 *   starts the unit (so the guard reads a real prior state, not a typo that
 *   quietly defaults to "restart");
 * - the guard defaults to restarting when that task did not run;
 * - every task of the role that notifies the handler comes before that start
 *   task (a file written after the start would need the restart).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ANSIBLE_DIR } from '../../../lib/tools/ansible.js';

type Task = Record<string, unknown>;
const ROLES = join(ANSIBLE_DIR, 'roles');
const GUARD = /^(\w+)\.status\.ActiveState \| default\('active'\) in \['active', 'activating'\]$/;

const load = (path: string): Task[] => (existsSync(path) ? ((parse(readFileSync(path, 'utf8')) as Task[] | null) ?? []) : []);
const flat = (tasks: Task[]): Task[] => tasks.flatMap((t) => (Array.isArray(t.block) ? flat(t.block as Task[]) : [t]));
const notifies = (t: Task): string[] => (t.notify === undefined ? [] : Array.isArray(t.notify) ? (t.notify as string[]) : [String(t.notify)]);
const unitOf = (t: Task): unknown => (t['ansible.builtin.systemd_service'] as Record<string, unknown> | undefined)?.name;

interface Guarded {
  role: string;
  handler: string;
  topics: string[];
  variable: string;
  unit: unknown;
}

function guardedHandlers(): Guarded[] {
  const out: Guarded[] = [];
  for (const role of readdirSync(ROLES).sort()) {
    for (const h of load(join(ROLES, role, 'handlers', 'main.yml'))) {
      const when = typeof h.when === 'string' ? h.when : '';
      if (!when.includes('.status.ActiveState')) continue;
      const m = GUARD.exec(when);
      assert.ok(m, `${role}: handler "${String(h.name)}" has a prior-state guard that is not the shared form: ${when}`);
      const name = String(h.name);
      out.push({ role, handler: name, topics: [name, ...(h.listen === undefined ? [] : [String(h.listen)])], variable: m?.[1] ?? '', unit: unitOf(h) });
    }
  }
  return out;
}

test('the restart handlers of the deploy roles are guarded by their start task', () => {
  const found = guardedHandlers().map((g) => `${g.role}: ${g.handler}`);
  for (const want of ['slurm-accounting: Restart mariadb', 'slurm-accounting: Restart slurmdbd', 'slurm-controller: Restart slurmctld', 'slurm-compute: Restart slurmd', 'nfs-client: Remount shared storage', 'container-registry: Restart the registry', 'munge: Restart munge', 'base: Restart chrony', 'nfs-server: Reload NFS exports']) {
    assert.ok(found.includes(want), `${want} is not guarded (found: ${found.join('; ')})`);
  }
});

test('each guard reads a start task of its role, and nothing notifies the handler after that task', () => {
  for (const g of guardedHandlers()) {
    const tasks = flat(load(join(ROLES, g.role, 'tasks', 'configure.yml')));
    const at = tasks.findIndex((t) => t.register === g.variable);
    assert.ok(at >= 0, `${g.role}: "${g.handler}" reads ${g.variable}, which no task of tasks/configure.yml registers`);
    const start = tasks[at] as Task;
    const mod = start['ansible.builtin.systemd_service'] as Record<string, unknown> | undefined;
    assert.ok(mod && mod.state === 'started', `${g.role}: ${g.variable} is not registered by a systemd_service task that starts a unit`);
    // A restart handler restarts the unit the start task started (exportfs is nfs-server's reload).
    if (g.unit !== undefined) assert.is(g.unit, mod?.name, `${g.role}: "${g.handler}" restarts ${String(g.unit)}, but ${g.variable} started ${String(mod?.name)}`);
    tasks.slice(at + 1).forEach((t) => {
      const hit = notifies(t).filter((n) => g.topics.includes(n));
      assert.is(hit.length, 0, `${g.role}: "${String(t.name)}" notifies "${g.handler}" after ${g.variable}'s start task, so a fresh start would miss its change`);
    });
  }
});

test.run();
