/**
 * A container image's cache entry (tasks/containers.ts): the oci-archive with
 * its `.sha256` and `.meta.json` sidecars is one entry of one file for
 * `pharos cache list|prune` (lib/images/entries.ts), grouped by the archive's name.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listEntries, planPrune } from '../../../lib/images/entries.js';

test('the archive is the entry; .sha256 and .meta.json are sidecars', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'pharos-ctcache-'));
  try {
    for (const key of ['k1', 'k2']) {
      const dir = join(cache, 'images', key);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'container-pytorch.oci.tar.meta.json'), '{}\n');
      await writeFile(join(dir, 'container-pytorch.oci.tar.sha256'), `${'0'.repeat(64)}\n`);
      await writeFile(join(dir, 'container-pytorch.oci.tar'), key);
    }
    const entries = await listEntries(cache);
    assert.equal(entries.map((e) => [e.key, e.image, e.files]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))), [
      ['k1', 'container-pytorch.oci.tar', ['container-pytorch.oci.tar']],
      ['k2', 'container-pytorch.oci.tar', ['container-pytorch.oci.tar']],
    ]);
    assert.is(planPrune(entries, 1).remove.length, 1, 'one image name, keep the newest');
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test.run();
