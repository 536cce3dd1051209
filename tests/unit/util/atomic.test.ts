/** One atomic write for every state file: temp beside the target, rename, no leftovers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { isTempName, replaceFileAtomic, serialized, tempNamePid, tempPathFor, writeFileAtomic, writeFileAtomicSync } from '../../../lib/util/atomic.js';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'pharos-atomic-'));

test('tempPathFor names a file beside the target that isTempName recognises, with our pid', () => {
  const t = tempPathFor('/x/state.json');
  assert.ok(t.startsWith('/x/state.json.'), t);
  assert.ok(isTempName(basename(t)), t);
  assert.is(tempNamePid(basename(t)), process.pid);
  assert.is.not(tempPathFor('/x/state.json'), t);
  assert.not.ok(isTempName('state.json'));
  assert.is(tempNamePid('state.json'), undefined);
});

test('writeFileAtomic replaces the content, applies the mode, leaves no temp file', async () => {
  const dir = scratch();
  try {
    const f = join(dir, 'known_hosts');
    writeFileSync(f, 'old\n');
    await writeFileAtomic(f, 'new\n', 0o600);
    assert.is(readFileSync(f, 'utf8'), 'new\n');
    assert.is(statSync(f).mode & 0o777, 0o600);
    writeFileAtomicSync(f, 'newer\n');
    assert.is(readFileSync(f, 'utf8'), 'newer\n');
    assert.equal(readdirSync(dir), ['known_hosts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing fill keeps the old file and removes its temp', async () => {
  const dir = scratch();
  try {
    const f = join(dir, 'image.qcow2');
    writeFileSync(f, 'old');
    const err = await replaceFileAtomic(f, async (tmp) => {
      writeFileSync(tmp, 'half');
      throw new Error('disk full');
    }).catch((e: Error) => e);
    assert.instance(err, Error);
    assert.is((err as Error).message, 'disk full');
    assert.is(readFileSync(f, 'utf8'), 'old');
    assert.equal(readdirSync(dir), ['image.qcow2']);
    // a sync write into a missing directory fails with the fs error and leaves nothing
    assert.throws(() => writeFileAtomicSync(join(dir, 'missing', 'f'), 'x'), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serialized runs updates of one key one after another, a failure not blocking the next', async () => {
  const order: string[] = [];
  let inside = 0;
  const step = (name: string, fail = false) =>
    serialized('k', async () => {
      inside++;
      assert.is(inside, 1, `${name} ran alone`);
      await new Promise((r) => setImmediate(r));
      order.push(name);
      inside--;
      if (fail) throw new Error(name);
    });
  const r = await Promise.allSettled([step('a'), step('b', true), step('c')]);
  assert.equal(order, ['a', 'b', 'c']);
  assert.equal(r.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
});

test.run();
