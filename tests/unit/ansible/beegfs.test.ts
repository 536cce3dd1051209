/**
 * The BeeGFS roles share one beegfs-common role (as the Slurm roles share
 * slurm-common): repository, input checks, connection secret and restart
 * handler are written once. BeeGFS is not in Debian, so these roles are
 * checked statically and with the real ansible-playbook's task list only.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { exec } from '../../../lib/tools/exec.js';
import { ANSIBLE_DIR, ansibleEnv, RUNTIME_PLAYBOOK } from '../../../lib/tools/ansible.js';
import { deployRoles } from '../../../tasks/roles.js';
import { examplePlan } from './plans.js';
import { requireTool } from './helpers.js';

const ROLES = join(ANSIBLE_DIR, 'roles');
const PLAYBOOKS = join(ANSIBLE_DIR, 'playbooks');
const SERVICES: Record<string, string> = {
  'beegfs-mgmt': 'beegfs-mgmtd',
  'beegfs-meta': 'beegfs-meta',
  'beegfs-storage': 'beegfs-storage',
  'beegfs-client': 'beegfs-client',
};
const COMMON = 'beegfs-common';

const yaml = (file: string): unknown => parse(readFileSync(file, 'utf8')) as unknown;
const tasks = (role: string, f: string): unknown[] => {
  const file = join(ROLES, role, 'tasks', f);
  return existsSync(file) ? ((yaml(file) as unknown[] | null) ?? []) : [];
};
const FILES = ['install.yml', 'validate.yml', 'configure.yml'];

test('every BeeGFS role depends on beegfs-common, naming its service', () => {
  for (const [role, service] of Object.entries(SERVICES)) {
    const meta = yaml(join(ROLES, role, 'meta', 'main.yml')) as { dependencies?: Array<{ role?: string; vars?: Record<string, unknown> }> };
    const dep = (meta.dependencies ?? []).find((d) => d.role === COMMON);
    assert.ok(dep, `${role}/meta/main.yml must depend on ${COMMON}`);
    assert.is(dep.vars?.beegfs_service, service, `${role}: beegfs_service for the restart handler`);
  }
});

test('nothing beegfs-common has is repeated in a BeeGFS role', () => {
  const shared = FILES.flatMap((f) => tasks(COMMON, f));
  assert.ok(shared.length > 0, `${COMMON} has tasks`);
  const commonDefaults = Object.keys(yaml(join(ROLES, COMMON, 'defaults', 'main.yml')) as Record<string, unknown>);
  for (const role of Object.keys(SERVICES)) {
    assert.not.ok(existsSync(join(ROLES, role, 'handlers')), `${role}: the restart handler is ${COMMON}'s`);
    for (const f of FILES) {
      for (const t of tasks(role, f)) {
        const dup = shared.some((s) => isDeepStrictEqual(s, t));
        assert.not.ok(dup, `${role}/tasks/${f}: "${String((t as { name?: unknown }).name)}" is also in ${COMMON}`);
      }
    }
    const own = Object.keys(yaml(join(ROLES, role, 'defaults', 'main.yml')) as Record<string, unknown>);
    for (const k of own) if (k !== 'pharos_phase') assert.not.ok(commonDefaults.includes(k), `${role}/defaults sets ${k} again`);
  }
});

test('no play runs two BeeGFS roles (they share one handler name)', () => {
  for (const p of readdirSync(PLAYBOOKS).filter((f) => f.endsWith('.yml'))) {
    const plays = (yaml(join(PLAYBOOKS, p)) as Array<{ name?: string; roles?: Array<string | { role: string }> }>) ?? [];
    for (const play of plays) {
      const names = (play.roles ?? []).map((r) => (typeof r === 'string' ? r : r.role));
      assert.ok(names.filter((r) => r in SERVICES).length <= 1, `${p}: play "${String(play.name)}" runs ${names.join(', ')}`);
    }
  }
});

test('a deploy:beegfs-* key covers beegfs-common', () => {
  const roles = deployRoles(examplePlan()).filter((r) => r.role in SERVICES);
  assert.is(roles.length, 4);
  for (const r of roles) assert.ok(r.inputs.includes(`ansible/roles/${COMMON}/**`), `${r.role} inputs`);
});

test('ansible-playbook resolves the dependency: each BeeGFS play runs beegfs-common first', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const r = await exec('ansible-playbook', ['-i', 'localhost,', '--list-tasks', RUNTIME_PLAYBOOK], {
    cwd: ANSIBLE_DIR, env: ansibleEnv(), timeoutMs: 120_000, pkg: 'ansible-core',
  });
  const plays = r.stdout.split(/\n(?=\s*play #)/);
  for (const role of Object.keys(SERVICES)) {
    const play = plays.find((p) => p.includes(`${role} : `));
    assert.ok(play, `the runtime playbook lists tasks of ${role}`);
    const lines = play.split('\n').map((l) => l.trim()).filter((l) => l.includes(' : '));
    const firstOwn = lines.findIndex((l) => l.startsWith(`${role} : `));
    const secret = lines.findIndex((l) => l.startsWith(`${COMMON} : Install the BeeGFS connection secret`));
    assert.ok(secret >= 0 && secret < firstOwn, `${role}: ${COMMON} installs the secret before ${role}'s own tasks\n${play}`);
  }
});

test.run();
