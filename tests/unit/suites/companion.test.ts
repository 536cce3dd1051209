/**
 * `# @file` headers of suite checks: paths that leave the repository, repeat a
 * base name or name no file are refused at load time with the check's file,
 * line and field; a good one reaches the check's node through the preamble
 * (run here by real bash), binary bytes included.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isPharosError } from '../../../lib/errors.js';
import { exec } from '../../../lib/tools/exec.js';
import { loadSuite, parseCheck } from '../../../lib/suites/suite.js';
import { companionPreamble } from '../../../lib/suites/run.js';

const head = (file: string): string => `#!/usr/bin/env bash\n# @nodes controller\n# @file ${file}\necho hi\n`;

test('@file paths outside the repository or repeated base names are refused with their line', () => {
  for (const bad of ['/etc/passwd', '../secret', 'examples/../../x', 'a b', 'x/./y']) {
    try {
      parseCheck('/s/check-10-x.sh', 'check-10-x.sh', head(bad));
      assert.unreachable(bad);
    } catch (e) {
      assert.ok(isPharosError(e), bad);
      const p = (e as { problems?: { line: number; field: string }[] }).problems?.[0];
      assert.equal([p?.line, p?.field], [3, '@file'], bad);
    }
  }
  try {
    parseCheck('/s/check-10-x.sh', 'check-10-x.sh', `${head('a/run.py')}`.replace('echo hi', '# @file b/run.py\necho hi'));
    assert.unreachable('two run.py');
  } catch (e) {
    assert.match(String((e as Error).message), /invalid check header/);
  }
});

test('a missing @file is refused when the suite loads; a present one arrives byte for byte', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'pharos-companion-'));
  try {
    const suites = join(repo, 'tests', 'suites');
    await mkdir(join(suites, 's'), { recursive: true });
    await mkdir(join(repo, 'data'));
    await writeFile(join(suites, 's', 'check-10-x.sh'), head('data/missing.bin'));
    try {
      await loadSuite(suites, 's');
      assert.unreachable('missing companion');
    } catch (e) {
      assert.ok(isPharosError(e));
      assert.match((e as Error).message, /@file data\/missing\.bin: no such file/);
    }
    const bytes = Buffer.from([0, 1, 2, 39, 34, 36, 10, 255, 96, 92]);
    await writeFile(join(repo, 'data', 'blob.bin'), bytes);
    await writeFile(join(suites, 's', 'check-10-x.sh'), head('data/blob.bin'));
    const suite = await loadSuite(suites, 's');
    const check = suite.checks[0]!;
    assert.ok(suite.files.includes(join(repo, 'data', 'blob.bin')), 'the companion shapes the suite key');
    const r = await exec('bash', ['-c', `${await companionPreamble(check)}od -An -tu1 "$PHAROS_CHECK_FILES/blob.bin"; rm -rf "$PHAROS_CHECK_FILES"`]);
    assert.equal(r.stdout.trim().split(/\s+/).map(Number), [...bytes]);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
});

test.run();
