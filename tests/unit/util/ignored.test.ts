/** One list of never-input, never-watched directories. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IGNORED_DIRS, IGNORED_GLOBS, inIgnoredDir, isIgnoredDir } from '../../../lib/util/ignored.js';

test('state, packages and git are ignored, as names and anywhere in a path', () => {
  assert.equal([...IGNORED_DIRS].sort(), ['.git', '.pharos', 'node_modules']);
  assert.ok(isIgnoredDir('.pharos'));
  assert.not.ok(isIgnoredDir('pharos'));
  assert.ok(inIgnoredDir('/w/p/.pharos/state.json'));
  assert.ok(inIgnoredDir('node_modules'));
  assert.ok(inIgnoredDir('a/.git'));
  assert.ok(inIgnoredDir('C:\\w\\node_modules\\x'));
  assert.not.ok(inIgnoredDir('/w/p/ansible/roles/git/tasks/main.yml'));
  assert.not.ok(inIgnoredDir('/w/p/.gitignore'));
  assert.not.ok(inIgnoredDir('/w/p/my.pharos/x'));
  assert.equal([...IGNORED_GLOBS].sort(), ['**/.git/**', '**/.pharos/**', '**/node_modules/**']);
});

test.run();
