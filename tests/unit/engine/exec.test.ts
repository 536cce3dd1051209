import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, ExecError } from '../../../lib/tools/exec.js';
import { tempRoot } from './helpers.js';

/**
 * The child writes `ready\n` plus the first byte of `é`, waits until the
 * parent has seen the `ready` line (so the two bytes arrive in two reads),
 * then writes the second byte.
 */
const SPLIT = `
const fs = require('node:fs');
const go = process.argv[1];
fs.writeSync(1, Buffer.from([0x72, 0x65, 0x61, 0x64, 0x79, 0x0a, 0xc3]));
const until = Date.now() + 20000;
while (!fs.existsSync(go)) { if (Date.now() > until) { console.error('timed out waiting for ' + go); process.exit(9); } }
fs.writeSync(1, Buffer.from([0xa9, 0x0a]));
`;

test('a multibyte character split across two writes decodes whole (result and lines)', async () => {
  const go = join(tempRoot('pharos-exec-'), 'go');
  const lines: string[] = [];
  const r = await exec(process.execPath, ['-e', SPLIT, go], {
    onLine: (l) => {
      lines.push(l);
      if (l === 'ready' && !existsSync(go)) writeFileSync(go, '');
    },
  });
  assert.equal(lines, ['ready', 'é']);
  assert.is(r.stdout, 'ready\né\n');
});

test('kept output is bounded to a tail with a count of what was dropped; onLine sees all', async () => {
  const lines: string[] = [];
  const r = await exec(process.execPath, ['-e', 'for (let i = 0; i < 1000; i++) console.log("line " + i)'], { keepChars: 100, onLine: (l) => lines.push(l) });
  assert.is(lines.length, 1000);
  assert.is(lines[999], 'line 999');
  assert.is(r.stdout.length, 100);
  assert.ok(r.stdout.endsWith('line 999\n'));
  const total = lines.reduce((a, l) => a + l.length + 1, 0);
  assert.equal(r.dropped, { stdout: total - 100, stderr: 0 });
  try {
    await exec(process.execPath, ['-e', 'for (let i = 0; i < 1000; i++) console.error("e" + i); process.exitCode = 4'], { keepChars: 50 });
    assert.unreachable('exit 4 is a failure');
  } catch (e) {
    assert.instance(e, ExecError);
    assert.match((e as ExecError).message, /e999\n\(\d+ earlier characters of output not kept in memory; the target's log has them\)$/);
    assert.ok((e as ExecError).stderr.length <= 50);
  }
});

test.run();
