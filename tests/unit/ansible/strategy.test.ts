/**
 * The Ansible strategy deploys run with (lib/tools/ansible.ts deployStrategy):
 * Mitogen's where ansible-mitogen is installed, Ansible's own with
 * PHAROS_MITOGEN=0, an error for any other value; then a REAL run through
 * Mitogen (-c local, a temp dir) whose pharos_events counts and failure
 * messages arrive as they do with Ansible's own strategy.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MITOGEN_STRATEGY_PLUGIN, PlaybookFailedError, deployStrategy, runPlaybook } from '../../../lib/tools/ansible.js';
import { checkDeployStrategy } from '../../../lib/host/doctor.js';
import { PharosError } from '../../../lib/errors.js';
import { requireTool } from './helpers.js';

const yes = (): boolean => true;
const no = (): boolean => false;

test('deployStrategy: Mitogen where installed; PHAROS_MITOGEN=0 and ANSIBLE_STRATEGY win; anything else is refused', () => {
  assert.equal(deployStrategy({}, yes), { env: { ANSIBLE_STRATEGY: 'mitogen_linear' }, strategy: 'mitogen_linear' });
  assert.equal(deployStrategy({}, no), { env: {}, strategy: 'linear' });
  assert.equal(deployStrategy({ PHAROS_MITOGEN: '0' }, yes), { env: {}, strategy: 'linear' });
  assert.equal(deployStrategy({ ANSIBLE_STRATEGY: 'free', PHAROS_MITOGEN: '1' }, no), { env: {}, strategy: 'free' });
  assert.throws(() => deployStrategy({ PHAROS_MITOGEN: '1' }, no), (e: unknown) => e instanceof PharosError && /not installed/.test(e.message) && e.hint === 'apt-get install ansible-mitogen');
  assert.throws(() => deployStrategy({ PHAROS_MITOGEN: 'yes' }, yes), (e: unknown) => e instanceof PharosError && e.message === 'PHAROS_MITOGEN is "yes"');
  assert.is(checkDeployStrategy({}, yes).status, 'ok');
  assert.equal([checkDeployStrategy({}, no).status, checkDeployStrategy({}, no).remediation], ['warn', 'apt-get install -y ansible-mitogen']);
  assert.is(checkDeployStrategy({ PHAROS_MITOGEN: '0' }, no).status, 'ok');
  assert.is(checkDeployStrategy({ PHAROS_MITOGEN: 'on' }, yes).status, 'fail');
});

const PLAYBOOK = `---
- name: Probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Write a file
      ansible.builtin.copy:
        content: "x\\n"
        dest: "{{ out }}/{{ inventory_hostname }}.txt"
        mode: "0644"
    - name: Run a loop
      ansible.builtin.command: "true"
      loop: [1, 2]
      changed_when: false
    - name: Fail on b
      ansible.builtin.fail:
        msg: "b says no"
      when: inventory_hostname == 'b' and (fail_b | default(false) | bool)
`;

test('a real run through Mitogen: the callback counts, a second run changes nothing, a failure says what it said', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  assert.ok(existsSync(MITOGEN_STRATEGY_PLUGIN), `${MITOGEN_STRATEGY_PLUGIN} is missing: apt-get install ansible-mitogen (scripts/host-packages.txt has it)`);
  const dir = mkdtempSync(join(tmpdir(), 'pharos-mitogen-'));
  try {
    writeFileSync(join(dir, 'probe.yml'), PLAYBOOK);
    const lines: string[] = [];
    const play = (extra: Record<string, string | boolean>) =>
      runPlaybook({
        playbook: join(dir, 'probe.yml'),
        inventoryPath: 'a,b,',
        extraVars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', out: dir, ...extra },
        env: { ...process.env, ...deployStrategy({ PHAROS_MITOGEN: '1' }).env },
        verbosity: 3,
        onLine: (l) => lines.push(l),
        timeoutMs: 120_000,
      });
    const r = await play({});
    assert.is(r.changed, 2);
    assert.equal(Object.keys(r.recap).sort(), ['a', 'b']);
    assert.is(r.tasks.find((t) => t.name === 'Run a loop')?.items, 4);
    assert.ok(lines.some((l) => /mitogen/i.test(l)), 'the run went through Mitogen (its -vvv lines)');
    assert.is((await play({})).changed, 0, 'a second run changes nothing');
    const err = await play({ fail_b: true }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, PlaybookFailedError);
    assert.equal((err as PlaybookFailedError).failures.map((f) => [f.host, f.task, f.msg]), [['b', 'Fail on b', 'b says no']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
