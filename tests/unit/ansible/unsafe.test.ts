/**
 * Issue 10, item 1: every value Pharos writes into an inventory reaches
 * Ansible as data, never as a template. Proven with the real `ansible` and
 * `ansible-playbook` (connection=local): a `{{ lookup('pipe','touch F') }}`
 * payload in a config, and in every string of every variable of every
 * inventory, must come back literally and F must not exist.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildInventory, toIni, toYaml, writeInventory, type Inventory, type InventoryValue } from '../../../lib/inventory/index.js';
import { PharosError } from '../../../lib/errors.js';
import { exec } from '../../../lib/tools/exec.js';
import { ansibleEnv } from '../../../lib/tools/ansible.js';
import { loadConfigText, planSystem } from '../../../lib/config/index.js';
import { examplePlan, exampleCloudPlan, localAccess, localPlan, natAccess } from './plans.js';
import { REPO, requireTool } from './helpers.js';

const HOST = { cpus: 64, memoryMiB: 1024 * 1024 };
/** A payload that fits the schema's no-whitespace patterns (`%c` % 32 is a space). */
const payload = (file: string): string => `{{lookup('pipe','touch%c${file}'%32)}}`;

async function ansible(args: string[]): Promise<string> {
  const r = await exec('ansible', args, { pkg: 'ansible-core', timeoutMs: 120_000, env: ansibleEnv() });
  return r.stdout;
}

/** The example config with payloads in the free-form strings the schema still admits. */
function hostileExample(dir: string): string {
  const text = readFileSync(join(REPO, 'config', 'example-multi-gpu-clusters.yaml'), 'utf8');
  const out = text
    .replace('mount_point: "/mnt/beegfs"', `mount_point: "/mnt/${payload(join(dir, 'mount'))}"`)
    .replace('mount_options: "defaults,_netdev"', `mount_options: "${payload(join(dir, 'options'))}"`);
  assert.is(out.split('lookup(').length - 1, 2, 'both payloads placed');
  return out;
}

test('the issue repro: a payload in beegfs.mount_point stays text for `ansible -m debug` (YAML inventory)', async () => {
  await requireTool('ansible', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-unsafe-'));
  try {
    const loaded = loadConfigText(hostileExample(dir), join(dir, 'example.yaml'), { env: { HOME: '/home/tester' }, host: HOST });
    const hpc = planSystem(loaded).clusters.find((c) => c.kind === 'hpc')!;
    const inv = buildInventory(hpc, natAccess('hpc-cluster'));
    const files = await writeInventory(inv, join(dir, 'inv'));
    for (const v of ['beegfs_mount_point', 'shared_mount_point', 'beegfs_mount_options']) {
      const out = await ansible(['-i', files.yaml, 'hpc-cluster-controller', '-c', 'local', '-m', 'debug', '-a', `var=${v}`]);
      const want = v === 'beegfs_mount_options' ? payload(join(dir, 'options')) : `/mnt/${payload(join(dir, 'mount'))}`;
      assert.match(out, JSON.stringify(want), `${v} comes back literally:\n${out}`);
    }
    assert.not.ok(existsSync(join(dir, 'mount')) || existsSync(join(dir, 'options')), 'the payload ran');
    // The INI form cannot mark a value unsafe: it refuses, and writeInventory says so in the file.
    assert.throws(() => toIni(inv), (e: unknown) => e instanceof PharosError && /mount_point of group hpc contains `{`, which .*template/.test(e.message));
    assert.match(readFileSync(files.ini, 'utf8'), /^# Pharos wrote no INI inventory .*\n# Use inventory\.yml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pharos inventory: the INI default refuses the payload (exit 2), --format yaml writes it as data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-unsafe-cli-'));
  try {
    const cfg = join(dir, 'example.yaml');
    writeFileSync(cfg, hostileExample(dir));
    const run = (extra: string[]) =>
      spawnSync(process.execPath, [join(REPO, 'bin', 'pharos.js'), '-c', cfg, 'inventory', 'generate', ...extra], {
        cwd: REPO,
        encoding: 'utf8',
        env: { ...process.env, HOME: '/home/tester', PHAROS_STATE_DIR: join(dir, 'state') },
        timeout: 120_000,
      });
    const ini = run([]);
    assert.is(ini.status, 2, ini.stderr);
    assert.match(ini.stderr, 'Ansible\'s INI inventory would evaluate as a template');
    assert.match(ini.stderr, '--format yaml');
    assert.not.match(ini.stderr, '    at ');
    const yaml = run(['--format', 'yaml']);
    assert.is(yaml.status, 0, yaml.stderr);
    assert.match(yaml.stdout, `beegfs_mount_point: !unsafe /mnt/${payload(join(dir, 'mount'))}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Replaces every string in `v` with a fresh payload; returns the new value. */
function poison(v: InventoryValue, next: () => string): InventoryValue {
  if (typeof v === 'string') return next();
  if (Array.isArray(v)) return v.map((x) => poison(x, next));
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, poison(x, next)]));
  return v;
}

const PLAYBOOK = `---
- hosts: all
  gather_facts: false
  tasks:
    - name: every variable, read the way a role reads it
      ansible.builtin.copy:
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        content: "{{ dict(var_names | zip(var_names | map('extract', hostvars[inventory_hostname]))) | to_json }}"
`;

test('every string of every variable of every inventory is data for ansible-playbook (YAML form)', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-unsafe-all-'));
  try {
    const touched = join(dir, 'touched');
    const cases: Record<string, Inventory> = {
      local: buildInventory(localPlan(), localAccess()),
      example: buildInventory(examplePlan(), natAccess('hpc-cluster')),
      'example-cloud': buildInventory(exampleCloudPlan(), natAccess('cloud-cluster')),
    };
    writeFileSync(join(dir, 'play.yml'), PLAYBOOK);
    let n = 0;
    let strings = 0;
    for (const [name, inv] of Object.entries(cases)) {
      const next = (): string => {
        strings++;
        return `{{ lookup('pipe', 'mkdir -p ${touched} && touch ${touched}/${n++}') }}`;
      };
      // Poison every variable, host and group alike; the expected values per host
      // are the group vars it inherits overlaid with its own.
      for (const g of inv.groups) for (const k of Object.keys(g.vars)) g.vars[k] = poison(g.vars[k]!, next);
      // ansible_python_interpreter is Pharos's own constant (no config reaches
      // it) and the one variable this local run really uses: it stays as written.
      for (const h of Object.keys(inv.hosts)) {
        for (const k of Object.keys(inv.hosts[h]!)) if (k !== 'ansible_python_interpreter') inv.hosts[h]![k] = poison(inv.hosts[h]![k]!, next);
      }
      const groupOf = (h: string): string[] => {
        const direct = inv.groups.filter((g) => g.hosts.includes(h)).map((g) => g.name);
        const all = new Set(direct);
        for (let grew = true; grew; ) {
          grew = false;
          for (const g of inv.groups) if (!all.has(g.name) && g.children.some((c) => all.has(c))) (all.add(g.name), (grew = true));
        }
        return [...all];
      };
      const file = join(dir, `${name}.yml`);
      writeFileSync(file, toYaml(inv));
      const out = join(dir, `out-${name}`);
      mkdirSync(out);
      const names = [...new Set([...inv.groups.flatMap((g) => Object.keys(g.vars)), ...Object.values(inv.hosts).flatMap((v) => Object.keys(v))])];
      await exec('ansible-playbook', ['-i', file, '-c', 'local', '-e', JSON.stringify({ out_dir: out, var_names: names }), join(dir, 'play.yml')], {
        pkg: 'ansible-core',
        timeoutMs: 300_000,
        env: ansibleEnv(),
      });
      for (const h of Object.keys(inv.hosts)) {
        const got = JSON.parse(readFileSync(join(out, `${h}.json`), 'utf8')) as Record<string, unknown>;
        const want: Record<string, unknown> = {};
        for (const g of inv.groups) if (groupOf(h).includes(g.name)) Object.assign(want, g.vars);
        Object.assign(want, inv.hosts[h]);
        assert.equal(got, want, `${name}/${h}: every value comes back literally`);
      }
      assert.throws(() => toIni(inv), /template/, `${name}: INI refuses`);
    }
    assert.ok(strings > 60, `poisoned ${strings} strings`);
    assert.not.ok(existsSync(touched) && readdirSync(touched).length > 0, `payloads ran: ${existsSync(touched) ? readdirSync(touched).join(' ') : ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
