/** One PATH lookup: first executable regular file on PATH, paths taken as they are. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { findOnPath, which } from '../../../lib/util/which.js';

test('the first executable regular file on PATH wins; non-executables, directories and empty entries are passed over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-which-'));
  try {
    const [a, b, c] = ['a', 'b', 'c'].map((d) => join(dir, d));
    for (const d of [a!, b!, c!]) mkdirSync(d);
    writeFileSync(join(a!, 'tool'), 'not executable');
    mkdirSync(join(b!, 'tool')); // a directory by that name
    writeFileSync(join(c!, 'tool'), '#!/bin/sh\n');
    chmodSync(join(c!, 'tool'), 0o755);
    const env = { PATH: `${a}::${b}:${c}:${join(dir, 'missing')}` };
    assert.is(findOnPath('tool', env), join(c!, 'tool'));
    assert.is(findOnPath('nosuch', env), undefined);
    assert.is(findOnPath('tool', {}), undefined);
    // a name with a slash is a path, not looked up
    assert.is(findOnPath(join(a!, 'tool'), env), join(a!, 'tool'));
    assert.is(findOnPath('./nosuch/tool', env), undefined);
    assert.is(findOnPath(`${dir}/c/../c/tool`, env), resolve(c!, 'tool'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('which looks on this process PATH', async () => {
  assert.ok((await which('sh'))?.endsWith('/sh'));
  assert.is(await which('pharos-no-such-program'), undefined);
});

test.run();
