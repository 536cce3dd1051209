/** One streaming file digest: the same hex as hashing the whole content, chunk boundaries included. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileDigest } from '../../../lib/util/digest.js';

test('sha256 and sha512 of empty, small and multi-chunk files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-digest-'));
  try {
    const big = Buffer.alloc(9 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    for (const [name, data] of [
      ['empty', Buffer.alloc(0)],
      ['small', Buffer.from('pharos\n')],
      ['big', big],
    ] as const) {
      const f = join(dir, name);
      writeFileSync(f, data);
      assert.is(await fileDigest(f), createHash('sha256').update(data).digest('hex'), name);
      assert.is(await fileDigest(f, 'sha512'), createHash('sha512').update(data).digest('hex'), name);
    }
    assert.not.ok(await fileDigest(join(dir, 'missing')).then(() => true, () => false));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
