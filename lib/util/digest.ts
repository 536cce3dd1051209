/** Streaming file digests, hex (images are GiB-sized: never read them whole; input files share the one helper). */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type HashAlgo = 'sha256' | 'sha512';

export async function fileDigest(path: string, algo: HashAlgo = 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    h.update(chunk as Buffer);
  }
  return h.digest('hex');
}
