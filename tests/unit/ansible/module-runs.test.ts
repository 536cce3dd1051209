/**
 * The module-run budget of each deploy role: under TCG every module Ansible
 * sends to a guest costs seconds (the AnsiballZ import alone), so a role's
 * deploy time is about how many it sends. Counted from the deploy-time task
 * files (tasks/validate.yml, tasks/configure.yml of the role and the roles it
 * uses; handlers left out): a template or copy is two runs (stat, then copy or
 * file), a literal loop one per item, a loop over a variable one, an action
 * that runs on the controller (assert, debug, meta, ...) none. Every
 * conditional is taken as true. A change that adds module runs must say so here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { ANSIBLE_DIR } from '../../../lib/tools/ansible.js';
import { ROLE_CATALOGUE } from '../../../tasks/roles.js';

type Task = Record<string, unknown>;
const LOCAL = new Set(['assert', 'debug', 'fail', 'set_fact', 'meta', 'include_role', 'include_tasks', 'import_tasks', 'import_role']);
const TWO = new Set(['template', 'copy']);

function moduleOf(t: Task): string | undefined {
  const k = Object.keys(t).find((x) => x.startsWith('ansible.builtin.'));
  return k?.slice('ansible.builtin.'.length);
}

function runs(list: unknown): number {
  if (!Array.isArray(list)) return 0;
  let n = 0;
  for (const t of list as Task[]) {
    if (t.block) {
      n += runs(t.block);
      continue;
    }
    const m = moduleOf(t);
    if (!m || LOCAL.has(m)) continue;
    const per = TWO.has(m) ? 2 : 1;
    n += per * (Array.isArray(t.loop) ? t.loop.length : 1);
  }
  return n;
}

function roleRuns(role: string): number {
  return ['validate.yml', 'configure.yml']
    .map((f) => runs(parse(readFileSync(join(ANSIBLE_DIR, 'roles', role, 'tasks', f), 'utf8'))))
    .reduce((a, b) => a + b, 0);
}

const BUDGET: Record<string, number> = {
  base: 6,
  munge: 4,
  'nfs-server': 5,
  'slurm-controller': 2,
  'nfs-client': 3,
  'slurm-compute': 9,
  'slurm-common': 9,
  monitoring: 8,
  // per mount (each task loops over virtiofs_mounts); none on a node without mounts
  'virtio-fs': 4,
  // per user: group, user, key file; once: home root (one host), sshd drop-in, key directory
  users: 8,
  // on the controller: MariaDB settings, start, database + credential, slurmdbd.conf, start, registrations
  'slurm-accounting': 8,
  // cleanup (one shell), the three Pharos scripts; the user's scripts (none in the local default)
  'slurm-job-scripts': 9,
  // OpenMPI's site parameters (one template)
  mpi: 2,
  // on the controller: its configuration, start, the API answering
  'container-registry': 4,
  // oci.conf, crun's state directory (declared, made once), the registry entry, pharos-bundle and pharos-run; Apptainer's bind paths (off)
  'container-runtime': 12,
  // the cloud cluster: modules + sysctls in one shell, containerd started (base comes as a dependency)
  'cloud-node': 2,
};

test('deploy roles of the local default stay within their module-run budget', () => {
  for (const [role, budget] of Object.entries(BUDGET)) assert.is(roleRuns(role), budget, `${role}: module runs per host`);
  // The catalogue's local-default roles are all budgeted.
  for (const r of ROLE_CATALOGUE.filter((x) => !x.role.startsWith('beegfs') && x.role !== 'nvidia-gpu-drivers' && x.role !== 'kubernetes')) {
    assert.ok(r.role in BUDGET, `${r.role} has no budget`);
  }
});

test('no deploy-time loop of stat calls, one task for both hostnames, one for making and reading the munge key', () => {
  const tasks = (role: string): Task[] => parse(readFileSync(join(ANSIBLE_DIR, 'roles', role, 'tasks', 'configure.yml'), 'utf8')) as Task[];
  for (const r of Object.keys(BUDGET)) {
    for (const t of tasks(r)) assert.not.ok(moduleOf(t) === 'stat' && t.loop !== undefined, `${r}: "${String(t.name)}" loops stat`);
  }
  assert.is(tasks('base').filter((t) => /hostname/i.test(String(t.name))).length, 1);
  assert.not.ok(tasks('munge').some((t) => moduleOf(t) === 'slurp'));
});

test.run();
