/**
 * The folded deploy tasks run for REAL (ansible-playbook -c local on this
 * machine, every path inside a temp dir): munge's one task that makes the key
 * on the first deploy and reads it back (changed once, then unchanged, the
 * same key both times, 0400 munge), and slurm-compute's GPU device check,
 * which changes nothing when every device node exists. The tasks are taken
 * verbatim from the roles' configure.yml.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { ANSIBLE_DIR, runPlaybook } from '../../../lib/tools/ansible.js';
import { requireTool } from './helpers.js';

type Task = Record<string, unknown>;
const roleTask = (role: string, name: RegExp): Task => {
  const tasks = parse(readFileSync(join(ANSIBLE_DIR, 'roles', role, 'tasks', 'configure.yml'), 'utf8')) as Task[];
  const t = tasks.find((x) => name.test(String(x.name)));
  if (!t) throw new Error(`${role}: no task matching ${name}`);
  return t;
};

async function play(dir: string, vars: Record<string, unknown>, tasks: Task[]) {
  const file = join(dir, `play-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, stringify([{ name: 'Folded task', hosts: 'all', gather_facts: false, vars, tasks }]));
  return runPlaybook({
    playbook: file,
    inventoryPath: 'localhost,',
    extraVars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' },
    timeoutMs: 120_000,
  });
}

test('munge: the key is made once and read back in the same task', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-folded-'));
  try {
    const key = join(dir, 'munge.key');
    const vars = { munge_key_path: key, munge_key_random_bytes: 768, munge_key_group: 'all' };
    const check: Task = {
      name: 'The registered key is the file',
      'ansible.builtin.assert': { that: ["munge_key_read.stdout | b64decode == lookup('ansible.builtin.file', munge_key_path)"], quiet: true },
    };
    const first = await play(dir, vars, [roleTask('munge', /^Generate .* munge key/), check]);
    assert.is(first.changed, 1, 'the first deploy makes the key');
    const made = readFileSync(key, 'utf8');
    assert.ok(made.length >= 1000 && /^[A-Za-z0-9+/=]+$/.test(made), 'base64 text of 768 random bytes');
    assert.is(statSync(key).mode & 0o777, 0o400);
    const again = await play(dir, vars, [roleTask('munge', /^Generate .* munge key/), check]);
    assert.is(again.changed, 0, 'a later deploy finds it and changes nothing');
    assert.is(readFileSync(key, 'utf8'), made, 'the key is kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('slurm-compute: the GPU device check changes nothing when every node exists', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-folded-'));
  try {
    const devices = [join(dir, 'nvidia0'), join(dir, 'nvidia 1')].map((file) => ({ type: 'emulated', file }));
    for (const d of devices) writeFileSync(d.file, '');
    const r = await play(dir, { gpu_emulated: true, gpu_devices: devices }, [{ ...roleTask('slurm-compute', /^Create missing emulated GPU/), notify: undefined }]);
    assert.is(r.changed, 0);
    assert.equal(r.tasks.find((t) => /GPU device nodes/.test(t.name))?.hosts, { localhost: 'ok' }, 'it ran and found both');
    const none = await play(dir, { gpu_emulated: true, gpu_devices: [] }, [{ ...roleTask('slurm-compute', /^Create missing emulated GPU/), notify: undefined }]);
    assert.equal(none.tasks.find((t) => /GPU device nodes/.test(t.name))?.hosts, { localhost: 'skipped' }, 'no devices: nothing to check');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
