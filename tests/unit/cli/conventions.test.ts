/**
 * CLI conventions, through the real bin: `--version` from package.json (and in
 * `--help`), usage errors exit 2 in subcommands as at the top level, global
 * options in every subcommand's help, a description for each `vm` subcommand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, cli, tempRoot } from '../engine/helpers.js';

const root = tempRoot('pharos-cli-conv-');

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test('--version prints the package version; --help lists it', async () => {
  const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    assert.is(r.code, 0, r.err);
    assert.is(r.out.trim(), version);
  }
  const h = await run(['--help']);
  assert.is(h.code, 0);
  assert.match(h.out, /-V, --version\s+print the version/);
});

test('usage errors exit 2 at every level', async () => {
  for (const args of [['--bogus'], ['build', '--bogus'], ['why'], ['cluster', 'status', '--bogus'], ['vm', 'start']]) {
    const r = await run(args);
    assert.is(r.code, 2, `pharos ${args.join(' ')} exited ${r.code}:\n${r.err}`);
    assert.match(r.err, /error: /, `pharos ${args.join(' ')} says what is wrong`);
    assert.not.match(r.err, /\n\s+at /, 'no stack trace');
  }
});

test("each subcommand's help shows the global options", async () => {
  for (const args of [['build', '--help'], ['why', '--help'], ['cluster', 'status', '--help'], ['vm', 'stop', '--help']]) {
    const r = await run(args);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /Global Options:[\s\S]*-C, --root <dir>[\s\S]*--json/, `pharos ${args.join(' ')}`);
  }
});

test('every vm subcommand has a description', async () => {
  const r = await run(['vm', '--help']);
  assert.is(r.code, 0, r.err);
  const commands = r.out.slice(r.out.indexOf('Commands:'));
  for (const sub of ['start', 'stop', 'restart', 'status']) {
    assert.match(commands, new RegExp(`\\n  ${sub} (\\[options\\] )?<name> +\\S`), `vm ${sub} has a description`);
  }
});

test.run();
