import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPharosError } from '../../../lib/errors.js';
import { cachePath, cachedSha256, defaultCacheDir, storeInCache } from '../../../lib/images/store.js';
import { cloudImage, parseChecksum } from '../../../lib/images/cloud.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pharos-store-'));
}

test('storeInCache puts the file under its key, atomically, and reuses it', async () => {
  const dir = await tmp();
  try {
    const src = join(dir, 'img.qcow2');
    await writeFile(src, 'image-bytes');
    const cache = join(dir, 'cache');
    const p = await storeInCache(cache, src, 'abc123');
    assert.is(p, join(cache, 'images', 'abc123', 'img.qcow2'));
    assert.is(p, cachePath(cache, 'abc123', 'img.qcow2'));
    assert.is(await readFile(p, 'utf8'), 'image-bytes');
    const before = (await stat(p)).mtimeMs;
    // A second store (another clone) finds the entry and does not rewrite it.
    await writeFile(src, 'other');
    const again = await storeInCache(cache, src, 'abc123');
    assert.is(again, p);
    assert.is(await readFile(p, 'utf8'), 'image-bytes');
    assert.is((await stat(p)).mtimeMs, before);
    assert.equal(await readdir(join(cache, 'images', 'abc123')), ['img.qcow2'], 'no temp files left');
    // move: the source is consumed.
    const moved = await storeInCache(cache, src, 'def456', { move: true });
    assert.is(await readFile(moved, 'utf8'), 'other');
    await stat(src).then(
      () => assert.unreachable('source still there after move'),
      (e: NodeJS.ErrnoException) => assert.is(e.code, 'ENOENT'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a stored digest is read from its sidecar, not recomputed', async () => {
  const dir = await tmp();
  try {
    const src = join(dir, 'img.qcow2');
    await writeFile(src, 'abc');
    const real = createHash('sha256').update('abc').digest('hex');
    // Given at store time: trusted from then on (entries are immutable).
    const p = await storeInCache(join(dir, 'cache'), src, 'k1', { sha256: 'f'.repeat(64) });
    assert.is(await cachedSha256(p), 'f'.repeat(64), 'sidecar used, file not re-hashed');
    // Not given: computed once, then remembered.
    const q = await storeInCache(join(dir, 'cache'), src, 'k2');
    assert.is(await cachedSha256(q), real);
    assert.is((await readFile(`${q}.sha256`, 'utf8')).trim(), real);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('keys cannot escape the cache directory', async () => {
  for (const k of ['../x', 'a/b', '', '.hidden']) {
    try {
      cachePath('/c', k, 'f');
      assert.unreachable(`accepted key ${k}`);
    } catch (e) {
      assert.ok(isPharosError(e));
    }
  }
});

test('PHAROS_CACHE decides the machine-level cache', () => {
  assert.is(defaultCacheDir({ PHAROS_CACHE: '/x/cache' }), '/x/cache');
  assert.is(defaultCacheDir({ XDG_CACHE_HOME: '/y' }), '/y/pharos');
});

test('checksums: prefixed, bare, and invalid', () => {
  const h = 'a'.repeat(64);
  assert.equal(parseChecksum(`sha256:${h}`), { algo: 'sha256', hex: h });
  assert.equal(parseChecksum('B'.repeat(128)), { algo: 'sha512', hex: 'b'.repeat(128) });
  for (const bad of ['sha256:abc', 'md5:' + h, 'none']) {
    try {
      parseChecksum(bad);
      assert.unreachable(bad);
    } catch (e) {
      assert.ok(isPharosError(e));
    }
  }
});

// A real HTTP server on 127.0.0.1: the first request fails with 503, then it
// serves the image; requests are counted to prove the cache avoids downloads.
async function server(body: Buffer, failFirst: number): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let n = 0;
  const s: Server = createServer((req, res) => {
    n++;
    if (req.url !== '/debian-12-genericcloud-amd64.qcow2') {
      res.writeHead(404).end();
      return;
    }
    if (n <= failFirst) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/debian-12-genericcloud-amd64.qcow2`,
    hits: () => n,
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

test('cloudImage downloads once with retries, verifies, caches by checksum', async () => {
  const dir = await tmp();
  const body = Buffer.from('pretend qcow2 '.repeat(1000));
  const sum = createHash('sha512').update(body).digest('hex');
  const srv = await server(body, 1);
  try {
    const a = await cloudImage({ url: srv.url, checksum: `sha512:${sum}`, cacheDir: dir, retries: 2 });
    assert.is(a.cached, false);
    assert.is(srv.hits(), 2, 'one failed attempt, one good one');
    assert.ok((await readFile(a.qcow2)).equals(body));
    assert.ok(a.qcow2.includes(sum), 'path contains the checksum key');
    const b = await cloudImage({ url: srv.url, checksum: `sha512:${sum}`, cacheDir: dir });
    assert.is(b.cached, true);
    assert.is(b.qcow2, a.qcow2);
    assert.is(srv.hits(), 2, 'no second download');
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('cloudImage rejects a checksum mismatch and stores nothing', async () => {
  const dir = await tmp();
  const srv = await server(Buffer.from('tampered'), 0);
  try {
    await cloudImage({ url: srv.url, checksum: `sha256:${'0'.repeat(64)}`, cacheDir: dir });
    assert.unreachable('accepted a wrong checksum');
  } catch (e) {
    assert.ok(isPharosError(e));
    assert.match((e as Error).message, /checksum mismatch/);
    const left = await readdir(join(dir, 'downloads'));
    assert.equal(left, [], 'no partial download left');
    await stat(join(dir, 'images')).then(
      () => assert.unreachable('something was stored'),
      () => undefined,
    );
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('cloudImage gives up after bounded retries with a clear message', async () => {
  const dir = await tmp();
  const srv = await server(Buffer.from('x'), 100);
  try {
    await cloudImage({ url: srv.url, checksum: `sha256:${'0'.repeat(64)}`, cacheDir: dir, retries: 2 });
    assert.unreachable('succeeded against a failing server');
  } catch (e) {
    assert.ok(isPharosError(e));
    assert.match((e as Error).message, /cannot download .*HTTP 503/);
    assert.is(srv.hits(), 3);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
