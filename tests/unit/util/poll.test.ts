/** The one poll-with-backoff loop: tries until a value, a thrown error, or the deadline (tried once more at it). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pollWithBackoff } from '../../../lib/util/poll.js';

test('returns the first value and how long it took', async () => {
  let tries = 0;
  const got = await pollWithBackoff(async () => (++tries === 3 ? 'ready' : undefined), { timeoutMs: 60_000, firstDelayMs: 1, maxDelayMs: 2 });
  assert.is(got?.value, 'ready');
  assert.is(tries, 3);
  assert.ok(got!.waitedMs >= 0);
});

test('gives up with undefined after a last try at the deadline', async () => {
  const left: number[] = [];
  const got = await pollWithBackoff(
    async (l) => {
      left.push(l);
      return undefined;
    },
    { timeoutMs: 30, firstDelayMs: 1, maxDelayMs: 4 },
  );
  assert.is(got, undefined);
  assert.ok(left.length >= 2, `tried ${left.length} times`);
  assert.ok(left[0]! > 0 && left[0]! <= 30);
  assert.is(left[left.length - 1], 0);
  // the time left only goes down
  assert.ok(left.every((l, i) => i === 0 || l <= left[i - 1]!));
});

test('a zero timeout still tries once; an attempt that throws ends the poll with its error', async () => {
  let tries = 0;
  assert.is(await pollWithBackoff(async () => void tries++, { timeoutMs: 0, firstDelayMs: 1, maxDelayMs: 1 }), undefined);
  assert.is(tries, 1);
  const err = await pollWithBackoff(
    async () => {
      throw new Error('interrupted');
    },
    { timeoutMs: 60_000, firstDelayMs: 1, maxDelayMs: 1 },
  ).catch((e: Error) => e);
  assert.is((err as Error).message, 'interrupted');
});

test.run();
