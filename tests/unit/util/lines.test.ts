/** One line splitter for streamed output, one "last lines" for error messages. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineSplitter, lastLines } from '../../../lib/util/lines.js';

test('lines split across chunks come out whole, the unfinished last one on flush', () => {
  const got: string[] = [];
  const s = new LineSplitter((l) => got.push(l));
  for (const c of ['a', 'b\nc', 'd\n', '', '\ne', 'f']) s.push(c);
  assert.equal(got, ['ab', 'cd', '']);
  s.flush();
  assert.equal(got, ['ab', 'cd', '', 'ef']);
  s.flush(); // nothing left: nothing more
  assert.equal(got.length, 4);
});

test('a line longer than maxLine comes out in pieces of that size', () => {
  const got: string[] = [];
  const s = new LineSplitter((l) => got.push(l), 4);
  s.push('0123456789');
  assert.equal(got, ['0123', '4567']);
  s.push('ab\nxy');
  s.flush();
  assert.equal(got, ['0123', '4567', '89ab', 'xy']);
});

test('lastLines keeps the end of an output, trimmed', () => {
  assert.is(lastLines('\n a\nb\nc\n\n', 2), 'b\nc');
  assert.is(lastLines('only', 5), 'only');
  assert.is(lastLines('  \n', 3), '');
});

test.run();
