/**
 * The cluster's known_hosts is updated by every VM as it comes up, and VMs
 * converge concurrently: no pin may lose another's entry (this raced before:
 * three VMs pinned at once left one or two entries), and a reader never sees a
 * half-written file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { isPinned, pinHost, unpinHost } from '../../../lib/cluster/identity.js';

const key = (i: number) => ({ type: 'ssh-ed25519', key: `AAAAC3NzaC1lZDI1NTE5AAAAI${String(i).padStart(43, 'x')}` });

test('thirty VMs pinning at once keep every entry; unpinning at once removes exactly theirs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-kh-'));
  try {
    const kh = join(dir, 'known_hosts');
    const names = Array.from({ length: 30 }, (_, i) => [`[127.0.0.1]:${2200 + i}`, `vm-${i}`]);
    await Promise.all(names.map((p, i) => pinHost(kh, p, [key(i)])));
    const lines = readFileSync(kh, 'utf8').trim().split('\n');
    assert.is(lines.length, 30);
    for (const [i, p] of names.entries()) assert.ok(await isPinned(kh, p), `vm-${i} pinned`);
    // re-pinning replaces, never duplicates
    await Promise.all(names.slice(0, 10).map((p, i) => pinHost(kh, p, [key(100 + i)])));
    assert.is(readFileSync(kh, 'utf8').trim().split('\n').length, 30);
    await Promise.all(names.slice(0, 15).map((p) => unpinHost(kh, p)));
    const left = readFileSync(kh, 'utf8').trim().split('\n');
    assert.is(left.length, 15);
    assert.ok(left.every((l) => Number(/vm-(\d+)/.exec(l)?.[1]) >= 15));
    // no temp file is left beside it
    assert.equal(readdirSync(dir), ['known_hosts']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
