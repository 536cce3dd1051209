/**
 * One rule for the config path: `-c FILE` and `$PHAROS_CONFIG` are relative to
 * the working directory for every command. Before, `build`/`list` read a
 * relative $PHAROS_CONFIG against the checkout while `validate` read it
 * against the working directory, so one value named two files.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO } from '../engine/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'pharos-cfgpath-'));
const bad = join(dir, 'mine.yaml');
// The smallest valid config with one typo: the error names the file it read.
writeFileSync(bad, readFileSync(join(REPO, 'tests/fixtures/configs/valid-base.yaml'), 'utf8').replace('memory_gb:', 'memroy_gb:'));

function pharos(args: string[], env: NodeJS.ProcessEnv): { code: number | null; err: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'bin/pharos.js'), '-C', REPO, ...args], {
    cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000,
  });
  return { code: r.status, err: r.stderr };
}

test('a relative $PHAROS_CONFIG names the same file (beside the working directory) for validate, build and cluster', () => {
  for (const args of [['validate'], ['build', '-n'], ['cluster', 'start', '--images-dir', dir]]) {
    const r = pharos(args, { PHAROS_CONFIG: 'mine.yaml' });
    assert.is(r.code, 2, `pharos ${args.join(' ')}: ${r.err}`);
    assert.match(r.err, `${bad}:`, `pharos ${args.join(' ')} read ${bad}:\n${r.err}`);
    assert.match(r.err, 'memroy_gb');
  }
});

test('-c is relative to the working directory too, and wins over $PHAROS_CONFIG', () => {
  copyFileSync(bad, join(dir, 'other.yaml'));
  const r = pharos(['-c', 'other.yaml', 'build', '-n'], { PHAROS_CONFIG: 'mine.yaml' });
  assert.is(r.code, 2, r.err);
  assert.match(r.err, `${join(dir, 'other.yaml')}:`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
