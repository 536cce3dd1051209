/**
 * Hostile configs (issue 10, items 2–6): each class of input a careless or
 * malicious config could carry is rejected with one located problem, or
 * neutralised. The table in tests/fixtures/configs/README.md names each test
 * here. Item 1 (values reach Ansible as data) is tests/unit/ansible/unsafe.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PharosError, type ErrorDetail } from '../../../lib/errors.js';
import { loadConfigText, REPO_ROOT } from '../../../lib/config/load.js';
import { HOST } from './helpers.js';

const FIX = join(REPO_ROOT, 'tests', 'fixtures', 'configs');
const BASE = readFileSync(join(FIX, 'valid-base.yaml'), 'utf8');
const BIN = join(REPO_ROOT, 'bin', 'pharos.js');
const env = { HOME: '/home/tester' };

/** valid-base.yaml with `from` replaced by `to` (which must occur). */
function variant(from: string | RegExp, to: string): string {
  const out = BASE.replace(from, to);
  assert.ok(out !== BASE, `variant: ${String(from)} not found in valid-base.yaml`);
  return out;
}

function reject(text: string, file = 'hostile.yaml'): ErrorDetail[] {
  try {
    loadConfigText(text, file, { env, host: HOST });
  } catch (e) {
    if (!(e instanceof PharosError)) throw new Error(`threw a non-PharosError (exit 70): ${String((e as Error).stack ?? e)}`);
    assert.is(e.exitCode, 2);
    return e.problems;
  }
  throw new Error('the config loaded, but it must be rejected');
}

/** The one problem at `field` whose message includes `msg`. */
function hit(details: ErrorDetail[], field: string | undefined, msg: string | RegExp): ErrorDetail {
  const d = details.find((x) => (field === undefined || x.field === field) && (typeof msg === 'string' ? x.message.includes(msg) : msg.test(x.message)));
  if (!d) throw new Error(`no problem ${field ?? ''} ~ ${String(msg)}; got:\n${details.map((x) => `  ${x.line}:${x.column} ${x.field ?? ''} ${x.message}`).join('\n')}`);
  assert.ok(d.line && d.column, `located: ${JSON.stringify(d)}`);
  return d;
}

function pharos(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

// ------------------------------------------------------------ item 6: YAML

test('item 6: billion laughs is one located problem, exit 2, no stack', () => {
  const r = pharos(['validate', join(FIX, 'hostile', 'billion-laughs.yaml')]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, /billion-laughs\.yaml:11:\d+: YAML aliases expand the file to \d+ nodes/);
  assert.match(r.err, 'the limit is 100000');
  assert.not.match(r.err, '    at ');
  assert.not.match(r.err, 'this is a bug');
});

test('item 6: an undefined alias names the alias, file:line:column, exit 2', () => {
  const r = pharos(['validate', join(FIX, 'hostile', 'undefined-alias.yaml')]);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, 'undefined-alias.yaml:28:26: YAML alias `*partition` refers to no anchor');
  assert.not.match(r.err, '    at ');
});

test('item 6: an alias inside its own anchor is a cycle, not a crash', () => {
  const d = reject(variant('partitions: ["debug"]', 'partitions: &p ["debug", *p]'));
  hit(d, undefined, 'is inside the node it refers to');
});

test('item 6: ordinary anchors and aliases still work', () => {
  const l = loadConfigText(variant('partitions: ["debug"]\n      default_partition: "debug"', 'partitions: [&d "debug"]\n      default_partition: *d'), 'ok.yaml', { env, host: HOST });
  assert.is(l.config.clusters.hpc?.slurm_config.default_partition, 'debug');
});

test.run();
