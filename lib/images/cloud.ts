/**
 * The alternative base source: a cloud image URL with a published checksum.
 * Downloaded once per machine into the content-addressed store (keyed by the
 * checksum, so a second clone or CI run reuses it), verified before it is
 * stored, with bounded retries on network errors.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PharosError } from '../errors.js';
import { fileDigest, type HashAlgo } from '../util/digest.js';
import { cacheLookup, storeInCache } from './store.js';

export interface CloudImageOptions {
  url: string;
  /** `sha256:<hex>` or `sha512:<hex>` (a bare 64/128-hex value is accepted too). */
  checksum: string;
  cacheDir: string;
  retries?: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  /** Injected for tests; default: global fetch. */
  fetchImpl?: typeof fetch;
}

export function parseChecksum(checksum: string): { algo: HashAlgo; hex: string } {
  const m = /^(?:(sha256|sha512):)?([0-9a-fA-F]+)$/.exec(checksum.trim());
  const hex = m?.[2]?.toLowerCase();
  const algo: HashAlgo | undefined =
    (m?.[1] as HashAlgo | undefined) ?? (hex?.length === 64 ? 'sha256' : hex?.length === 128 ? 'sha512' : undefined);
  if (!hex || !algo || hex.length !== (algo === 'sha256' ? 64 : 128)) {
    throw new PharosError(`invalid image checksum '${checksum}'`, {
      problems: [{ message: 'not a checksum', field: 'checksum', expected: 'sha256:<64 hex> or sha512:<128 hex>' }],
    });
  }
  return { algo, hex };
}

function fileNameOf(url: string): string {
  const name = basename(new URL(url).pathname);
  return name && /^[\w.+-]+$/.test(name) ? name : 'image.qcow2';
}

export async function cloudImage(o: CloudImageOptions): Promise<{ qcow2: string; digest: string; cached: boolean }> {
  const { algo, hex } = parseChecksum(o.checksum);
  const key = `${algo}-${hex}`;
  const name = fileNameOf(o.url);
  const hit = await cacheLookup(o.cacheDir, key, name);
  if (hit) return { qcow2: hit, digest: hex, cached: true };

  const dl = join(o.cacheDir, 'downloads');
  await mkdir(dl, { recursive: true });
  const tmp = join(dl, `${name}.${process.pid}.part`);
  const attempts = Math.max(1, (o.retries ?? 3) + 1);
  const doFetch = o.fetchImpl ?? fetch;
  let lastErr = '';
  try {
    for (let i = 1; i <= attempts; i++) {
      if (o.signal?.aborted) throw new PharosError(`interrupted downloading ${o.url}`, { exitCode: 130 });
      try {
        o.onLine?.(`pharos: downloading ${o.url} (attempt ${i}/${attempts})`);
        const res = await doFetch(o.url, { signal: o.signal });
        if (!res.ok || !res.body) {
          lastErr = `HTTP ${res.status}`;
          // A 4xx will not get better by retrying.
          if (res.status >= 400 && res.status < 500) break;
          continue;
        }
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(tmp));
        const got = await fileDigest(tmp, algo);
        if (got !== hex) {
          throw new PharosError(`checksum mismatch for ${o.url}`, {
            problems: [{ message: `${algo} is ${got}`, field: 'checksum', expected: hex }],
            hint: 'the image at the URL changed or the configured checksum is wrong',
          });
        }
        const qcow2 = await storeInCache(o.cacheDir, tmp, key, { move: true, name });
        return { qcow2, digest: hex, cached: false };
      } catch (e) {
        if (e instanceof PharosError) throw e;
        lastErr = (e as Error).message;
        if (o.signal?.aborted) throw new PharosError(`interrupted downloading ${o.url}`, { exitCode: 130 });
      }
    }
    throw new PharosError(`cannot download ${o.url}: ${lastErr}`, {
      hint: 'check the URL and the network, or build the base image from the Debian mirror instead',
    });
  } finally {
    await rm(tmp, { force: true });
  }
}
