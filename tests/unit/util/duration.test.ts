/** One duration style for people, at each unit boundary. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration } from '../../../lib/util/duration.js';

test('milliseconds, seconds with one decimal, then minutes and seconds', () => {
  assert.is(formatDuration(0), '0ms');
  assert.is(formatDuration(849.6), '850ms');
  assert.is(formatDuration(999), '999ms');
  assert.is(formatDuration(1000), '1.0s');
  assert.is(formatDuration(12_345), '12.3s');
  assert.is(formatDuration(59_949), '59.9s');
  // never "60.0s" nor "0m60s"
  assert.is(formatDuration(59_950), '1m00s');
  assert.is(formatDuration(119_600), '2m00s');
  assert.is(formatDuration(245_000), '4m05s');
  assert.is(formatDuration(75 * 60_000), '75m00s');
});

test.run();
