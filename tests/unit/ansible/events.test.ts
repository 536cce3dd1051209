/**
 * The pharos_events callback (ansible/callback_plugins/pharos_events.py) read
 * by runPlaybook: REAL ansible-playbook runs (-c local, two inventory hosts,
 * writing only into a temp dir) whose per-host counts must equal what the
 * PLAY RECAP text says, whose tasks are heard as they start (the status line)
 * and come back with their times, outcomes and loop items, and whose events
 * never reach the log a person reads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PlaybookFailedError, runPlaybook, type HostRecap } from '../../../lib/tools/ansible.js';
import { PlaybookEvents, profileLines } from '../../../lib/tools/ansible-events.js';
import { PharosError } from '../../../lib/errors.js';
import { requireTool } from './helpers.js';

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
      notify: Say it changed
    - name: Run a loop
      ansible.builtin.command: "true"
      loop: [1, 2, 3]
      changed_when: false
    - name: Skip on every host
      ansible.builtin.command: "true"
      when: false
    - name: Fail and go on
      ansible.builtin.command: "false"
      changed_when: false
      ignore_errors: true
    - name: Fail on b only
      ansible.builtin.command: "{{ 'false' if inventory_hostname == 'b' and (fail_b | default(false) | bool) else 'true' }}"
      changed_when: false
    - name: Say why a, with a quote and a line break
      ansible.builtin.fail:
        msg: "pharos-unavailable https://example.invalid/repo: \\"x\\" is not there\\nsecond line"
      when: inventory_hostname == 'a' and (fail_a | default(false) | bool)
  handlers:
    - name: Say it changed
      ansible.builtin.debug:
        msg: changed
`;

/** The oracle: the counts of ansible-playbook's own PLAY RECAP text. */
function textRecap(lines: string[]): Record<string, HostRecap> {
  const out: Record<string, HostRecap> = {};
  for (const l of lines.slice(lines.findIndex((x) => x.startsWith('PLAY RECAP')) + 1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(l.trim());
    if (!m) continue;
    const kv = Object.fromEntries((m[2] as string).trim().split(/\s+/).map((p) => p.split('=')).map(([k, v]) => [k, Number(v)]));
    out[m[1] as string] = {
      ok: kv.ok, changed: kv.changed, unreachable: kv.unreachable, failed: kv.failed, skipped: kv.skipped, rescued: kv.rescued, ignored: kv.ignored,
    } as HostRecap;
  }
  return out;
}

async function run(dir: string, extra: Record<string, string | boolean> = {}) {
  const playbook = join(dir, 'probe.yml');
  writeFileSync(playbook, PLAYBOOK);
  const lines: string[] = [];
  const heard: string[] = [];
  const p = runPlaybook({
    playbook,
    inventoryPath: 'a,b,',
    extraVars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', out: dir, ...extra },
    onLine: (l) => lines.push(l),
    onTask: (t) => heard.push(t.name),
    timeoutMs: 120_000,
  });
  return { p, lines, heard };
}

test('a real run: counts equal the PLAY RECAP, tasks are heard in order with times, outcomes and items', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-events-'));
  try {
    const first = await run(dir);
    const r = await first.p;
    assert.equal(r.recap, textRecap(first.lines), 'the callback counts are the PLAY RECAP counts');
    assert.equal(Object.keys(r.recap).sort(), ['a', 'b']);
    assert.is(r.changed, 2, 'the copy changed on both hosts');
    assert.is(r.recap.a?.ignored, 1);
    assert.is(r.recap.a?.skipped, 2);
    const names = ['Write a file', 'Run a loop', 'Skip on every host', 'Fail and go on', 'Fail on b only', 'Say why a, with a quote and a line break', 'Say it changed'];
    assert.equal(first.heard, names, 'every task, the handler last, heard as it started');
    assert.equal(r.tasks.map((t) => t.name), names);
    const by = new Map(r.tasks.map((t) => [t.name, t]));
    assert.equal(by.get('Write a file')?.hosts, { a: 'changed', b: 'changed' });
    assert.equal(by.get('Run a loop')?.items, 6, 'three items on each of two hosts');
    assert.equal(by.get('Skip on every host')?.hosts, { a: 'skipped', b: 'skipped' });
    assert.equal(by.get('Fail and go on')?.hosts, { a: 'ignored', b: 'ignored' });
    assert.is(by.get('Say it changed')?.handler, true);
    const total = r.tasks.reduce((a, t) => a + t.ms, 0);
    assert.ok(r.tasks.every((t) => t.ms >= 0) && total <= r.durationMs, `task times (${total} ms) fit in the run (${r.durationMs} ms)`);
    assert.ok(first.lines.some((l) => l.startsWith('TASK [Write a file]')), 'the normal output still streams');
    assert.not.ok(first.lines.some((l) => l.includes('"e":')), 'no event line reaches the log');
    const profile = profileLines(r.tasks, r.durationMs);
    assert.match(profile[0] ?? '', /^profile: 7 tasks, about \d+ module runs on the hosts/);
    assert.ok(profile.some((l) => /Run a loop \(2 ok, 6 items\)/.test(l)), profile.join('\n'));

    const again = await run(dir);
    const r2 = await again.p;
    assert.is(r2.changed, 0, 'a second run changes nothing');
    assert.equal(r2.recap, textRecap(again.lines));
    assert.not.ok(again.heard.includes('Say it changed'), 'no handler without a change');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real failing run: one PharosError naming the failed host, counts still read', async () => {
  await requireTool('ansible-playbook', 'ansible-core');
  const dir = mkdtempSync(join(tmpdir(), 'pharos-events-'));
  try {
    const { p } = await run(dir, { fail_b: true });
    try {
      await p;
      assert.unreachable('the run should fail');
    } catch (e) {
      assert.instance(e, PharosError);
      assert.match((e as PharosError).message, 'failed on b (1 failed)');
      assert.not.match((e as PharosError).message, /\ba \(/);
      // the ignored failure on both hosts is not one; b's stop is, with what it said
      assert.instance(e, PlaybookFailedError);
      assert.equal((e as PlaybookFailedError).failures.map((f) => [f.host, f.task, f.status]), [['b', 'Fail on b only', 'failed']]);
      assert.match((e as PlaybookFailedError).failures[0]!.msg, 'non-zero return code');
      assert.match((e as PharosError).problems[0]!.message, 'b: Fail on b only: non-zero return code');
    }
    // a fail message reaches the caller as the role wrote it: quotes and line breaks intact
    const { p: q } = await run(dir, { fail_a: true });
    const err = await q.then(() => undefined, (x: unknown) => x);
    assert.instance(err, PlaybookFailedError);
    assert.equal((err as PlaybookFailedError).failures.map((f) => [f.host, f.msg]), [['a', 'pharos-unavailable https://example.invalid/repo: "x" is not there\nsecond line']]);
    const soft = await runPlaybook({
      playbook: join(dir, 'probe.yml'),
      inventoryPath: 'a,b,',
      extraVars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3', out: dir, fail_b: true },
      throwOnFailure: false,
      timeoutMs: 120_000,
    });
    assert.is(soft.recap.b?.failed, 1);
    assert.is(soft.recap.a?.failed, 0);
    assert.is(soft.tasks.find((t) => t.name === 'Fail on b only')?.hosts.b, 'failed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PlaybookEvents: malformed lines are kept as junk, never counted; no stats means not finished', () => {
  const ev = new PlaybookEvents();
  ev.feed('{"e":"task","id":"1","name":"t","action":"copy","handler":false}');
  ev.feed('not json');
  ev.feed('{"e":"result","id":"1","host":"h","status":"bogus"}');
  ev.feed('{"e":"result","id":"1","host":"h","status":"changed","ignored":false,"items":0,"ms":5}');
  assert.is(ev.finished, false);
  assert.equal(ev.junk, ['not json', '{"e":"result","id":"1","host":"h","status":"bogus"}']);
  ev.feed('{"e":"task_end","id":"1","ms":7}');
  ev.feed('{"e":"stats","hosts":{"h":{"ok":1,"changed":1}}}');
  assert.is(ev.finished, true);
  assert.equal(ev.recap, { h: { ok: 1, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 } });
  assert.equal(ev.tasks, [{ name: 't', action: 'copy', handler: false, ms: 7, hosts: { h: 'changed' }, items: 0 }]);
});

test.run();
