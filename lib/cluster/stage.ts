/**
 * Images as QEMU can read them. The machine cache lives under the user's home
 * (`~/.cache/pharos`), which QEMU under `qemu:///system` (user libvirt-qemu)
 * cannot enter. A VM's overlay, kernel and initrd therefore point at a staged
 * copy under the cluster data root (`/var/lib/pharos/images/<digest>/` for
 * root): a hard link when both sit on one filesystem (free), a copy otherwise.
 * The staged name carries the image digest, so a new image never overwrites
 * the one a running VM's overlay still uses.
 */
import { chmod, copyFile, link, mkdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { NodeImage } from './env.js';
import { replaceFileAtomic } from '../util/atomic.js';

async function stageFile(src: string, dir: string): Promise<string> {
  const dest = join(dir, basename(src));
  // The directory is named by the image digest and files appear by rename:
  // one that exists is complete and current.
  try {
    await stat(dest);
    return dest;
  } catch {
    /* not staged yet */
  }
  await replaceFileAtomic(dest, async (tmp) => {
    try {
      await link(src, tmp);
    } catch {
      await copyFile(src, tmp);
    }
    await chmod(tmp, 0o644);
  });
  return dest;
}

/** Stages an image (and its kernel/initrd) under `<dataRoot>/images/<digest>/`. */
export async function stageImage(img: NodeImage, digest: string, dataRoot: string): Promise<NodeImage> {
  const dir = join(dataRoot, 'images', digest.slice(0, 32));
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dataRoot, 0o755).catch(() => undefined);
  await chmod(join(dataRoot, 'images'), 0o755);
  await chmod(dir, 0o755);
  return {
    ...img,
    image: await stageFile(img.image, dir),
    kernel: img.kernel ? await stageFile(img.kernel, dir) : undefined,
    initrd: img.initrd ? await stageFile(img.initrd, dir) : undefined,
  };
}
