/**
 * NO_COLOR and TERM=dumb through the real bin on a real pseudo-terminal
 * (util-linux `script` gives `pharos build` one): on an ordinary terminal the
 * build redraws a status line with escapes; with NO_COLOR set, or TERM=dumb,
 * the same build writes plain lines only: no escape, no carriage-return redraw.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { styledOutput } from '../../../lib/util/terminal.js';
import { GRAPH_URL, REPO, tempRoot } from '../engine/helpers.js';
import { requireTool } from '../ansible/helpers.js';

const root = tempRoot('pharos-term-');
writeFileSync(
  join(root, 'pharos.build.ts'),
  `import { target } from ${JSON.stringify(GRAPH_URL)};
export default () => {
  const a = target({ name: 'a', run: async () => 1 });
  const b = target({ name: 'b', deps: { a }, run: async () => 2 });
  return { targets: [a, b] };
};
`,
);

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `pharos build` on a pty; returns everything the terminal received. */
async function onTerminal(env: Record<string, string | undefined>): Promise<{ code: number | null; out: string }> {
  await requireTool('script', 'util-linux');
  const cmd = [process.execPath, join(REPO, 'bin/pharos.js'), '-C', root, 'build', 'b'].map(q).join(' ');
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.NO_COLOR;
  // A fresh build each time: the state dir is removed so both targets run.
  const child = spawn('script', ['-qec', `rm -rf ${q(join(root, '.pharos'))}; ${cmd}`, '/dev/null'], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { code, out };
}

const ESC = '\u001b';
/** A carriage return that is not the pty's end of line (\r\n): a redraw. */
const REDRAW = /\r(?!\n)/;

test('an ordinary terminal gets the redrawn status line (the test can see escapes)', async () => {
  const r = await onTerminal({ TERM: 'xterm-256color' });
  assert.is(r.code, 0, r.out);
  assert.ok(r.out.includes(`${ESC}[K`), `expected a status-line redraw in ${JSON.stringify(r.out)}`);
  assert.match(r.out, /ok: 2 built/);
});

for (const [what, env] of [
  ['NO_COLOR=1', { TERM: 'xterm-256color', NO_COLOR: '1' }],
  ['TERM=dumb', { TERM: 'dumb' }],
] as const) {
  test(`${what}: plain lines, no escape, no redraw`, async () => {
    const r = await onTerminal(env);
    assert.is(r.code, 0, r.out);
    assert.not.ok(r.out.includes(ESC), `no escape sequence in ${JSON.stringify(r.out)}`);
    assert.not.match(r.out, REDRAW, `no redraw in ${JSON.stringify(r.out)}`);
    assert.match(r.out, /done a in /);
    assert.match(r.out, /ok: 2 built/);
  });
}

test('styledOutput: a terminal, unless NO_COLOR is non-empty or TERM=dumb', () => {
  const tty = { isTTY: true };
  assert.ok(styledOutput(tty, { TERM: 'xterm' }));
  assert.ok(styledOutput(tty, { TERM: 'xterm', NO_COLOR: '' }), 'an empty NO_COLOR is unset (no-color.org)');
  assert.not.ok(styledOutput(tty, { TERM: 'xterm', NO_COLOR: '0' }), 'any non-empty value disables colour');
  assert.not.ok(styledOutput(tty, { TERM: 'dumb' }));
  assert.not.ok(styledOutput({ isTTY: false }, { TERM: 'xterm' }));
  assert.not.ok(styledOutput({}, {}));
});

test.run();
