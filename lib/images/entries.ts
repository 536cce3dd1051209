/**
 * The image store's entries, for `pharos cache list|prune`. An entry is
 * `<cacheDir>/images/<key>/` with its files (an image, maybe a kernel and an
 * initrd, `.sha256` sidecars). A directory holding only temp files is a store
 * in progress, not an entry, and is never listed or removed.
 *
 * Prune keeps, for each image name, the `keep` newest entries, and every entry
 * a VM disk is an overlay on (removing it would leave the VM without its
 * backing file). Everything else goes; an image target whose entry went is
 * rebuilt (or found again) on the next build, as its output files are gone.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { info as qemuImgInfo } from '../tools/qemu-img.js';
import { isTempName } from '../util/atomic.js';

export interface CacheEntry {
  key: string;
  dir: string;
  /** The entry's image file name (its `.qcow2`, else its first file): what prune groups by. */
  image: string;
  files: string[];
  /** Bytes on disk (allocated blocks, sidecars included): what removing it frees. */
  bytes: number;
  /** When its newest file was written (ISO time). */
  storedAt: string;
  /** VMs whose disk is an overlay on one of its files. */
  usedBy: string[];
}

/** A VM disk, and which VM it belongs to. */
export interface VmDisk {
  vm: string;
  disk: string;
}

/** A store in progress: `tempPathFor` names, and those of earlier versions (`.tmp-<pid>`, `.part`). */
const isTemp = (f: string): boolean => isTempName(f) || /\.tmp-\d+/.test(f) || f.endsWith('.part');
/** `.sha256` digests, and `.meta.json` facts of a container image (tasks/containers.ts). */
const isSidecar = (f: string): boolean => f.endsWith('.sha256') || f.endsWith('.meta.json');

/** Backing file (absolute) -> the VMs on it, for the disks that exist. */
export async function backingUsers(disks: readonly VmDisk[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const d of disks) {
    const exists = await stat(d.disk).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) continue;
    const backing = (await qemuImgInfo(d.disk)).backingFilename;
    if (!backing) continue;
    const abs = resolve(d.disk, '..', backing);
    out.set(abs, [...(out.get(abs) ?? []), d.vm]);
  }
  return out;
}

/** Every entry in the store, newest first within each image name. */
export async function listEntries(cacheDir: string, users: ReadonlyMap<string, string[]> = new Map()): Promise<CacheEntry[]> {
  const root = join(cacheDir, 'images');
  let keys: string[];
  try {
    keys = await readdir(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const entries: CacheEntry[] = [];
  for (const key of keys.sort()) {
    const dir = join(root, key);
    if (!(await stat(dir)).isDirectory()) continue;
    const all = (await readdir(dir)).sort();
    const files = all.filter((f) => !isTemp(f) && !isSidecar(f));
    if (files.length === 0) continue;
    let bytes = 0;
    let newest = 0;
    for (const f of all) {
      const s = await stat(join(dir, f));
      bytes += s.blocks * 512;
      if (files.includes(f)) newest = Math.max(newest, s.mtimeMs);
    }
    const usedBy = [...new Set(files.flatMap((f) => users.get(join(dir, f)) ?? []))].sort();
    entries.push({ key, dir, image: files.find((f) => f.endsWith('.qcow2')) ?? files[0]!, files, bytes, storedAt: new Date(newest).toISOString(), usedBy });
  }
  return entries.sort((a, b) => a.image.localeCompare(b.image) || b.storedAt.localeCompare(a.storedAt) || a.key.localeCompare(b.key));
}

export interface PrunePlan {
  remove: CacheEntry[];
  keep: CacheEntry[];
}

/** Which entries prune removes: all but the `keep` newest of each image name, never one in use. */
export function planPrune(entries: readonly CacheEntry[], keep: number): PrunePlan {
  const seen = new Map<string, number>();
  const plan: PrunePlan = { remove: [], keep: [] };
  const newestFirst = [...entries].sort((a, b) => b.storedAt.localeCompare(a.storedAt) || a.key.localeCompare(b.key));
  for (const e of newestFirst) {
    const n = seen.get(e.image) ?? 0;
    seen.set(e.image, n + 1);
    if (n < keep || e.usedBy.length > 0) plan.keep.push(e);
    else plan.remove.push(e);
  }
  return plan;
}

export async function removeEntries(entries: readonly CacheEntry[]): Promise<void> {
  for (const e of entries) await rm(e.dir, { recursive: true, force: true });
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
