/**
 * Hostile input in the fields issue 13 adds: `clusters.hpc.users` (names,
 * ids, groups, keys, shells) and the user's own prolog/epilog scripts. Each
 * is one located problem (exit 2), or, where the value is legitimately free
 * text (a key's comment), reaches the inventory as `!unsafe` data.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PharosError, type ErrorDetail } from '../../../lib/errors.js';
import { loadConfigText, REPO_ROOT } from '../../../lib/config/load.js';
import { planSystem } from '../../../lib/config/plan.js';
import { buildInventory, toIni, toYaml } from '../../../lib/inventory/index.js';
import { HOST } from './helpers.js';

const BASE = readFileSync(join(REPO_ROOT, 'tests', 'fixtures', 'configs', 'valid-base.yaml'), 'utf8');
const env = { HOME: '/home/tester' };
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq1fakefakefakefakefakefakefakefakefakefake';

/** valid-base.yaml with `users:` (YAML flow text) under clusters.hpc. */
const withUsers = (users: string): string => `${BASE}    users: ${users}\n`;
/** valid-base.yaml with lines added under slurm_config. */
const withSlurm = (lines: string): string => BASE.replace('      default_partition: "debug"\n', `      default_partition: "debug"\n${lines}`);

function reject(text: string): ErrorDetail[] {
  try {
    loadConfigText(text, 'hostile.yaml', { env, host: HOST });
  } catch (e) {
    if (!(e instanceof PharosError)) throw new Error(`threw a non-PharosError (exit 70): ${String((e as Error).stack ?? e)}`);
    assert.is(e.exitCode, 2);
    return e.problems;
  }
  throw new Error('the config loaded, but it must be rejected');
}

function hit(details: ErrorDetail[], field: string, msg: string): ErrorDetail {
  const d = details.find((x) => x.field === field && x.message.includes(msg));
  if (!d) throw new Error(`no problem ${field} ~ ${msg}; got:\n${details.map((x) => `  ${x.line}:${x.column} ${x.field ?? ''} ${x.message}`).join('\n')}`);
  assert.ok(d.line && d.column, `located: ${JSON.stringify(d)}`);
  return d;
}

const U = 'clusters.hpc.users';

test('a line break in a user name or an ssh key is refused at its field', () => {
  hit(reject(withUsers('[{name: "alice\\nroot", uid: 2001}]')), `${U}[0].name`, 'not in the expected form');
  hit(reject(withUsers(`[{name: alice, uid: 2001, ssh_public_keys: ["${KEY} a\\nssh-ed25519 AAAA evil"]}]`)), `${U}[0].ssh_public_keys[0]`, 'not in the expected form');
});

test('a key with options (command=, from=) or no type is refused; a plain key line loads', () => {
  for (const k of [`command=\\"touch /tmp/x\\" ${KEY}`, 'AAAAC3NzaC1lZDI1NTE5 me', `${KEY.replace('ssh-ed25519', 'ssh-dss')}`, `${KEY}\\t`]) {
    hit(reject(withUsers(`[{name: alice, uid: 2001, ssh_public_keys: ["${k}"]}]`)), `${U}[0].ssh_public_keys[0]`, 'not in the expected form');
  }
  assert.ok(loadConfigText(withUsers(`[{name: alice, uid: 2001, ssh_public_keys: ["${KEY} alice@laptop"]}]`), 'ok.yaml', { env, host: HOST }));
});

test('a template in a key comment stays data: !unsafe in the YAML inventory, refused by the INI one', () => {
  const comment = "{{ lookup('pipe','touch /tmp/pharos-x') }}";
  const plan = planSystem(loadConfigText(withUsers(`[{name: alice, uid: 2001, ssh_public_keys: ["${KEY} ${comment}"]}]`), 'ok.yaml', { env, host: HOST }));
  const inv = buildInventory(plan.clusters[0]!, { nodes: new Map(), user: 'root', keyFile: '/k', knownHostsFile: '/kh' });
  const yaml = toYaml(inv);
  assert.match(yaml, `- !unsafe ${KEY} ${comment}`);
  const back = parse(yaml, { customTags: [{ tag: '!unsafe', resolve: (s: string) => s }] }) as { all: { children: { hpc: { vars: { pharos_users: { ssh_keys: string[] }[] } } } } };
  assert.equal(back.all.children.hpc.vars.pharos_users[0]!.ssh_keys, [`${KEY} ${comment}`]);
  assert.throws(() => toIni(inv), (e: unknown) => e instanceof PharosError && e.message.includes('pharos_users'));
});

test('uid and gid out of 1000..60000 are refused', () => {
  for (const [u, field] of [['{name: a, uid: 0}', 'uid'], ['{name: a, uid: 999}', 'uid'], ['{name: a, uid: 60001}', 'uid'], ['{name: a, uid: 2001, gid: 65534}', 'gid'], ['{name: a, uid: 1.5}', 'uid']] as const) {
    const d = reject(withUsers(`[${u}]`));
    assert.ok(d.some((x) => x.field === `${U}[0].${field}` && x.line), `${u}: ${JSON.stringify(d)}`);
  }
});

test('duplicate names, uids and primary gids: located at the second, naming the first', () => {
  hit(reject(withUsers('[{name: a, uid: 2001}, {name: a, uid: 2002}]')), `${U}[1].name`, 'listed twice');
  const uid = hit(reject(withUsers('[{name: a, uid: 2001}, {name: b, uid: 2001, gid: 3000}]')), `${U}[1].uid`, 'uid 2001 of `b` is also the uid of `a`');
  assert.is(uid.line, 28);
  hit(reject(withUsers('[{name: a, uid: 2001, gid: 3000}, {name: b, uid: 2002, gid: 3000}]')), `${U}[1].gid`, 'primary gid 3000 of `b`');
  // The default gid is the uid: b's explicit gid 2001 collides with a's default.
  hit(reject(withUsers('[{name: a, uid: 2001}, {name: b, uid: 2002, gid: 2001}]')), `${U}[1].gid`, 'primary gid 2001');
  hit(reject(withUsers('[{name: a, uid: 2002, gid: 2001}, {name: b, uid: 2001}]')), `${U}[1].uid`, 'the gid defaults to the uid');
});

test('system accounts and root-equivalent groups are refused', () => {
  for (const n of ['root', 'slurm', 'munge', 'nobody', 'mysql', 'systemd-network']) {
    hit(reject(withUsers(`[{name: ${n}, uid: 2001}]`)), `${U}[0].name`, 'is a system account');
  }
  for (const g of ['root', 'sudo', 'shadow', 'munge']) hit(reject(withUsers(`[{name: a, uid: 2001, groups: [${g}]}]`)), `${U}[0].groups[0]`, `group \`${g}\``);
  hit(reject(withUsers('[{name: a, uid: 2001, groups: ["Wheel"]}]')), `${U}[0].groups[0]`, 'not in the expected form');
});

test('shell must be an absolute path of plain characters; 65 users are too many', () => {
  for (const s of ['bash', '/bin/sh -c x', '/bin/$(id)']) hit(reject(withUsers(`[{name: a, uid: 2001, shell: "${s}"}]`)), `${U}[0].shell`, 'not in the expected form');
  const many = Array.from({ length: 65 }, (_, i) => `{name: u${i}, uid: ${2000 + i}}`).join(', ');
  hit(reject(withUsers(`[${many}]`)), U, 'the list has 65 items');
});

test('users plan with defaults; the inventory carries them and the cluster key', () => {
  const plan = planSystem(loadConfigText(withUsers(`[{name: alice, uid: 2001}, {name: bob, uid: 2002, gid: 3000, groups: [lab], ssh_public_keys: ["${KEY} bob"], shell: /bin/sh}]`), 'ok.yaml', { env, host: HOST }));
  const c = plan.clusters[0]!;
  assert.equal(c.users, [
    { name: 'alice', uid: 2001, gid: 2001, groups: [], sshKeys: [], shell: '/bin/bash' },
    { name: 'bob', uid: 2002, gid: 3000, groups: ['lab'], sshKeys: [`${KEY} bob`], shell: '/bin/sh' },
  ]);
  const vars = buildInventory(c, { nodes: new Map(), user: 'root', keyFile: '/k', knownHostsFile: '/kh', publicKey: `${KEY} pharos-b` }).groups.find((g) => g.name === 'hpc')!.vars;
  assert.equal(vars['pharos_users'], [
    { name: 'alice', uid: 2001, gid: 2001, groups: [], ssh_keys: [], shell: '/bin/bash' },
    { name: 'bob', uid: 2002, gid: 3000, groups: ['lab'], ssh_keys: [`${KEY} bob`], shell: '/bin/sh' },
  ]);
  assert.is(vars['pharos_cluster_public_key'], `${KEY} pharos-b`);
  assert.equal([vars['slurm_accounting_enabled'], vars['slurm_accounting_account'], vars['slurm_jobacct_gather_frequency']], [false, 'pharos', 30]);
  assert.equal([vars['slurm_user_prolog'], vars['slurm_user_epilog']], [[], []]);
});

// ------------------------------------------------------------ prolog / epilog

const dir = mkdtempSync(join(tmpdir(), 'pharos-scripts-'));
const cfgFile = join(dir, 'conf', 'c.yaml');
mkdirSync(join(dir, 'conf', 'scripts'), { recursive: true });
writeFileSync(join(dir, 'conf', 'scripts', 'Check GPU!.sh'), '#!/bin/sh\necho "{{ not a template }}"\n');
writeFileSync(join(dir, 'after.py'), '#!/usr/bin/python3\nprint("done")\n');
writeFileSync(join(dir, 'big.sh'), `#!/bin/sh\n${'#'.repeat(64 * 1024)}\n`);
writeFileSync(join(dir, 'nohashbang.sh'), 'echo hi\n');
writeFileSync(join(dir, 'latin1.sh'), Buffer.from([0x23, 0x21, 0x2f, 0x62, 0x69, 0x6e, 0x2f, 0x73, 0x68, 0x0a, 0xe9, 0x0a]));
writeFileSync(join(dir, 'nul.sh'), '#!/bin/sh\n\0\n');

const planWith = (lines: string) => planSystem(loadConfigText(withSlurm(lines), cfgFile, { env, host: HOST }));

function planError(lines: string): PharosError {
  try {
    planWith(lines);
  } catch (e) {
    if (!(e instanceof PharosError)) throw new Error(`threw a non-PharosError: ${String((e as Error).stack ?? e)}`);
    return e;
  }
  throw new Error('planned, but must be refused');
}

for (const [what, path, msg] of [
  ['a directory', dir, 'is a directory'],
  ['a missing file', join(dir, 'nope.sh'), 'no such file'],
  ['a file over 64 KiB', join(dir, 'big.sh'), 'more than 64 KiB'],
  ['a file without #!', join(dir, 'nohashbang.sh'), 'does not start with #!'],
  ['a file that is not UTF-8', join(dir, 'latin1.sh'), 'is not UTF-8 text'],
  ['a file with a NUL byte', join(dir, 'nul.sh'), 'NUL byte'],
] as const) {
  test(`prolog: ${what} is one PharosError naming the field and the path (exit 2)`, () => {
    const e = planError(`      prolog: [scripts/Check GPU!.sh, ${JSON.stringify(path)}]\n`);
    assert.is(e.exitCode, 2);
    assert.is(e.problems.length, 1);
    const p = e.problems[0]!;
    assert.equal([p.file, p.line, p.field], [cfgFile, 28, 'clusters.hpc.slurm_config.prolog[1]']);
    assert.ok((p.column ?? 0) > 15, `located at the item: ${JSON.stringify(p)}`);
    assert.ok(p.message.startsWith(`${path}: `) && p.message.includes(msg), p.message);
    assert.is(e.message, `${cfgFile}: 1 problem in the cluster config`);
  });
}

test('epilog: a missing relative path is named as resolved against the config directory', () => {
  const e = planError('      epilog: [missing.sh]\n');
  assert.match(e.problems[0]!.message, `${join(dir, 'conf', 'missing.sh')}: no such file`);
  assert.is(e.problems[0]!.field, 'clusters.hpc.slurm_config.epilog[0]');
});

test('prolog/epilog: read relative to the config file, named 50-user-NN-<sanitised>, content in the inventory as data', () => {
  const plan = planWith(`      prolog: ["scripts/Check GPU!.sh"]\n      epilog: [../after.py]\n`);
  const s = plan.clusters[0]!.slurm!;
  assert.equal(s.prolog, [{ name: '50-user-01-check-gpu-.sh', path: join(dir, 'conf', 'scripts', 'Check GPU!.sh'), content: '#!/bin/sh\necho "{{ not a template }}"\n' }]);
  assert.equal(s.epilog.map((x) => x.name), ['50-user-01-after.py']);
  const inv = buildInventory(plan.clusters[0]!, { nodes: new Map(), user: 'root', keyFile: '/k', knownHostsFile: '/kh' });
  const vars = inv.groups.find((g) => g.name === 'hpc')!.vars;
  assert.equal(vars['slurm_user_prolog'], [{ name: '50-user-01-check-gpu-.sh', content: '#!/bin/sh\necho "{{ not a template }}"\n' }]);
  assert.equal(vars['slurm_user_epilog'], [{ name: '50-user-01-after.py', content: '#!/usr/bin/python3\nprint("done")\n' }]);
  assert.match(toYaml(inv), /name: !unsafe 50-user-01-check-gpu-\.sh\n\s+content: !unsafe /);
});

test('a changed script changes the plan, the inventory and so every deploy key', () => {
  const file = join(dir, 'conf', 'scripts', 'Check GPU!.sh');
  const before = toYaml(buildInventory(planWith(`      prolog: ["scripts/Check GPU!.sh"]\n`).clusters[0]!, { nodes: new Map(), user: 'root', keyFile: '/k', knownHostsFile: '/kh' }));
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  const after = toYaml(buildInventory(planWith(`      prolog: ["scripts/Check GPU!.sh"]\n`).clusters[0]!, { nodes: new Map(), user: 'root', keyFile: '/k', knownHostsFile: '/kh' }));
  assert.is.not(after, before);
  assert.match(after, 'exit 0');
});

test('more than 16 scripts are refused by the schema, located', () => {
  const many = Array.from({ length: 17 }, (_, i) => `s${i}.sh`).join(', ');
  hit(reject(withSlurm(`      prolog: [${many}]\n`)), 'clusters.hpc.slurm_config.prolog', 'the list has 17 items');
  hit(reject(withSlurm('      epilog: ["a\\nb.sh"]\n')), 'clusters.hpc.slurm_config.epilog[0]', 'not in the expected form');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
