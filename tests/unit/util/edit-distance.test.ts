/** One edit distance (optimal string alignment) for config keys and target names. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { editDistance } from '../../../lib/util/edit-distance.js';

test('insert, delete, substitute and a swap of neighbours each cost one', () => {
  assert.is(editDistance('', ''), 0);
  assert.is(editDistance('', 'abc'), 3);
  assert.is(editDistance('abc', ''), 3);
  assert.is(editDistance('kitten', 'sitting'), 3);
  assert.is(editDistance('memroy', 'memory'), 1);
  assert.is(editDistance('image:hpc/base', 'image:hpc/bsae'), 1);
  assert.is(editDistance('vm:compute-01', 'vm:compute-10'), 1);
  // optimal string alignment: no substring is edited twice
  assert.is(editDistance('ca', 'abc'), 3);
});

test('symmetric, and never more than the longer length', () => {
  const words = ['', 'a', 'ab', 'ba', 'abc', 'acb', 'controller', 'contrlloer', 'compute'];
  for (const x of words) {
    for (const y of words) {
      assert.is(editDistance(x, y), editDistance(y, x), `${x} ~ ${y}`);
      assert.ok(editDistance(x, y) <= Math.max(x.length, y.length));
      assert.is(editDistance(x, y) === 0, x === y);
    }
  }
});

test.run();
