/**
 * Static checks of the Ansible tree: every playbook passes
 * `ansible-playbook --syntax-check`, roles and playbooks pass `ansible-lint`
 * (production profile, skips documented in ansible/.ansible-lint), every role
 * has the expected layout, and the install/configure split holds: deploy-time
 * task files install no packages (the cluster network has no mirror).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { exec } from '../../../lib/tools/exec.js';
import { ANSIBLE_CFG, ANSIBLE_DIR, ansibleEnv } from '../../../lib/tools/ansible.js';
import { ROLE_CATALOGUE } from '../../../tasks/roles.js';
import { REPO, requireTool } from './helpers.js';

const ROLES = join(ANSIBLE_DIR, 'roles');
const PLAYBOOKS = join(ANSIBLE_DIR, 'playbooks');
const roles = readdirSync(ROLES).sort();
const playbooks = readdirSync(PLAYBOOKS).filter((f) => f.endsWith('.yml')).sort();

test('the expected roles and playbooks exist', () => {
  for (const r of [
    'base', 'munge', 'slurm-common', 'slurm-controller', 'slurm-compute', 'nfs-server', 'nfs-client',
    'beegfs-mgmt', 'beegfs-meta', 'beegfs-storage', 'beegfs-client', 'monitoring', 'nvidia-gpu-drivers', 'container-runtime',
  ]) assert.ok(roles.includes(r), `role ${r} is missing`);
  for (const p of ['playbook-hpc-runtime.yml', 'deploy-role.yml', 'image-hpc-controller.yml', 'image-hpc-compute.yml']) {
    assert.ok(playbooks.includes(p), `playbook ${p} is missing`);
  }
  for (const t of ROLE_CATALOGUE) assert.ok(roles.includes(t.role), `ROLE_CATALOGUE names ${t.role}, which has no directory`);
});

test('ansible-playbook --syntax-check passes for every playbook', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const all = [...playbooks.map((p) => join(PLAYBOOKS, p)), join(REPO, 'tests', 'unit', 'ansible', 'render.yml')];
  for (const p of all) {
    const r = await exec('ansible-playbook', ['-i', 'localhost,', '--syntax-check', p], {
      cwd: ANSIBLE_DIR, env: ansibleEnv(), okCodes: [0, 1, 4], timeoutMs: 120_000, pkg: 'ansible-core',
    });
    assert.is(r.code, 0, `syntax check of ${p} failed:\n${r.stdout}\n${r.stderr}`);
  }
});

test('ansible-lint passes on roles and playbooks', async () => {
  await requireTool('ansible-lint', 'ansible-lint');
  const r = await exec('ansible-lint', ['--nocolor', '-c', join(ANSIBLE_DIR, '.ansible-lint'), 'playbooks', 'roles'], {
    cwd: ANSIBLE_DIR,
    env: { ...ansibleEnv(), ANSIBLE_CONFIG: ANSIBLE_CFG },
    okCodes: [0, 2],
    timeoutMs: 300_000,
    pkg: 'ansible-lint',
  });
  assert.is(r.code, 0, `ansible-lint reported problems:\n${r.stdout}\n${r.stderr}`);
});

type Task = Record<string, unknown>;

/** Every task in a task file, including those nested in blocks. */
function tasksOf(file: string): Task[] {
  const doc = parse(readFileSync(file, 'utf8')) as unknown;
  const out: Task[] = [];
  const walk = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const t of list as Task[]) {
      out.push(t);
      for (const k of ['block', 'rescue', 'always']) walk(t[k]);
    }
  };
  walk(doc);
  return out;
}

const PACKAGE_MODULES = [
  'apt', 'package', 'dnf', 'yum', 'pip', 'apt_repository', 'apt_key', 'get_url', 'deb822_repository', 'snap', 'npm',
].flatMap((m) => [m, `ansible.builtin.${m}`]);

test('layout: defaults, validate, install and configure files, main.yml wires both phases', () => {
  for (const r of roles) {
    for (const f of ['defaults/main.yml', 'meta/main.yml', 'tasks/main.yml', 'tasks/validate.yml', 'tasks/install.yml', 'tasks/configure.yml']) {
      assert.ok(existsSync(join(ROLES, r, f)), `${r}/${f} is missing`);
    }
    const main = tasksOf(join(ROLES, r, 'tasks', 'main.yml'));
    const imports = main.map((t) => ({ file: t['ansible.builtin.import_tasks'], tags: t.tags, when: String(t.when) }));
    const install = imports.find((i) => i.file === 'install.yml');
    const configure = imports.find((i) => i.file === 'configure.yml');
    assert.ok(install && configure, `${r}/tasks/main.yml must import install.yml and configure.yml`);
    assert.equal(install.tags, ['install'], `${r}: install.yml must be tagged install`);
    assert.equal(configure.tags, ['configure'], `${r}: configure.yml must be tagged configure`);
    assert.match(install.when, "'install'");
    assert.match(configure.when, "'configure'");
    const defaults = parse(readFileSync(join(ROLES, r, 'defaults', 'main.yml'), 'utf8')) as Record<string, unknown>;
    assert.is(defaults.pharos_phase, 'all', `${r}: defaults/main.yml must set pharos_phase: all`);
  }
});

test('install/configure split: no package installs at deploy time', () => {
  for (const r of roles) {
    for (const f of ['tasks/configure.yml', 'tasks/validate.yml', 'handlers/main.yml']) {
      const file = join(ROLES, r, f);
      if (!existsSync(file)) continue;
      for (const t of tasksOf(file)) {
        const mod = PACKAGE_MODULES.find((m) => m in t);
        assert.not.ok(mod, `${r}/${f}: task "${String(t.name)}" uses ${mod}; package installs belong in tasks/install.yml`);
        const cmd = JSON.stringify(t['ansible.builtin.command'] ?? t['ansible.builtin.shell'] ?? '');
        assert.not.match(cmd, /\b(apt-get|apt|dpkg -i|pip3?) install\b/, `${r}/${f}: "${String(t.name)}" installs packages through a command`);
      }
    }
    // And the image part never starts or enables per-cluster services (turning
    // one off, `enabled: false` with no `state` or `state: stopped`, keeps a
    // generic image quiet).
    for (const t of tasksOf(join(ROLES, r, 'tasks', 'install.yml'))) {
      const svc = t['ansible.builtin.systemd_service'] as Record<string, unknown> | undefined;
      const off = svc !== undefined && svc.enabled === false && (svc.state === undefined || svc.state === 'stopped');
      assert.ok(svc === undefined || off, `${r}/tasks/install.yml: "${String(t.name)}" starts or enables a service at image time`);
    }
  }
});

test('deploy playbooks run the configure phase, image playbooks the install phase', () => {
  const phaseOf = (p: string): string[] =>
    (parse(readFileSync(join(PLAYBOOKS, p), 'utf8')) as Array<{ vars?: Record<string, unknown> }>).map((play) => String(play.vars?.pharos_phase));
  for (const p of ['playbook-hpc-runtime.yml', 'deploy-role.yml']) assert.ok(phaseOf(p).every((x) => x === 'configure'), `${p} must set pharos_phase: configure in every play`);
  for (const p of ['image-hpc-controller.yml', 'image-hpc-compute.yml']) assert.ok(phaseOf(p).every((x) => x === 'install'), `${p} must set pharos_phase: install in every play`);
});

test('image playbooks install every role\'s mirror packages up front, each with its recommends setting', () => {
  // A role's own mirror apt installs `<list> | difference(pharos_preinstalled)`:
  // a list left out of the playbook's up-front runs is still installed, but by
  // an apt run of its own (the cost the up-front runs are there to avoid).
  const depsOf = (r: string): string[] => {
    const meta = parse(readFileSync(join(ROLES, r, 'meta', 'main.yml'), 'utf8')) as { dependencies?: Array<{ role: string }> };
    return (meta.dependencies ?? []).flatMap((d) => [...depsOf(d.role), d.role]);
  };
  const GUARDED = /^\{\{ (\w+) \| difference\(pharos_preinstalled \| default\(\[\]\)\) \}\}$/;
  for (const p of playbooks.filter((f) => f.startsWith('image-'))) {
    const [play] = parse(readFileSync(join(PLAYBOOKS, p), 'utf8')) as Array<{ vars: Record<string, string>; roles: Array<{ role: string }> }>;
    const full = String(play!.vars.pharos_image_packages ?? '');
    const lean = String(play!.vars.pharos_image_packages_lean ?? '');
    let guarded = 0;
    for (const r of [...new Set(play!.roles.flatMap((x) => [...depsOf(x.role), x.role]))]) {
      for (const t of tasksOf(join(ROLES, r, 'tasks', 'install.yml'))) {
        const apt = t['ansible.builtin.apt'] as Record<string, unknown> | undefined;
        const list = GUARDED.exec(String(apt?.name ?? ''))?.[1];
        if (!list) continue;
        guarded++;
        const want = apt!.install_recommends === false ? lean : full;
        assert.ok(new RegExp(`\\b${list}\\b`).test(want), `${p}: role ${r} installs ${list}${apt!.install_recommends === false ? ' without recommends' : ''}; add it to ${apt!.install_recommends === false ? 'pharos_image_packages_lean' : 'pharos_image_packages'}`);
        assert.is(String(t.when), `${list} | difference(pharos_preinstalled | default([])) | length > 0`, `${p}: role ${r}'s apt of ${list} must skip when nothing is left`);
      }
    }
    assert.ok(guarded >= 2, `${p}: expected the roles' mirror apt tasks, found ${guarded}`);
  }
});

test('the munge key is never logged and never baked into an image', () => {
  const tasks = tasksOf(join(ROLES, 'munge', 'tasks', 'configure.yml'));
  for (const t of tasks) {
    if ('ansible.builtin.slurp' in t || 'ansible.builtin.copy' in t || 'ansible.builtin.shell' in t) {
      assert.is(t.no_log, true, `munge task "${String(t.name)}" handles the key and must set no_log`);
    }
  }
  const install = readFileSync(join(ROLES, 'munge', 'tasks', 'install.yml'), 'utf8');
  assert.match(install, 'state: absent', 'the image build removes the packaged munge key');
});

test.run();
