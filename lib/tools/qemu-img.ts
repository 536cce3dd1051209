/**
 * Thin typed wrapper over `qemu-img`: `info --output=json`, overlay creation
 * (`create -f qcow2 -F qcow2 -b BASE`, backing format always explicit so QEMU
 * never probes it), `convert`, and `check`.
 */
import { resolve } from 'node:path';
import { exec } from './exec.js';
import { PharosError } from '../errors.js';

/** A file argument qemu-img cannot read as anything else: absolute, so
 *  `-U.qcow2` is not an option and `nbd://host/x.qcow2` (or any `proto:` before
 *  the first `/`) is not a protocol. Relative paths mean the same file as
 *  before (relative to the working directory), and a backing file recorded in
 *  an overlay no longer depends on where the overlay lies. */
export function fileArg(path: string): string {
  return resolve(path);
}

export interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize?: number;
  backingFilename?: string;
  backingFormat?: string;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export async function info(path: string): Promise<ImageInfo> {
  // -U: read even while a running VM holds the image's write lock.
  const r = await exec('qemu-img', ['info', '-U', '--output=json', fileArg(path)], { pkg: 'qemu-utils' });
  let j: unknown;
  try {
    j = JSON.parse(r.stdout);
  } catch {
    throw new PharosError(`qemu-img info ${path}: unreadable JSON output`);
  }
  if (typeof j !== 'object' || j === null) throw new PharosError(`qemu-img info ${path}: unexpected output`);
  const o = j as Record<string, unknown>;
  const virtualSize = num(o['virtual-size']);
  if (virtualSize === undefined) throw new PharosError(`qemu-img info ${path}: no virtual-size`);
  return {
    filename: str(o.filename) ?? path,
    format: str(o.format) ?? 'unknown',
    virtualSize,
    actualSize: num(o['actual-size']),
    backingFilename: str(o['backing-filename']),
    backingFormat: str(o['backing-filename-format']),
  };
}

/** Create a qcow2 overlay on `base` of at least `sizeBytes` (never below the base's virtual size). */
export async function createOverlay(path: string, base: string, sizeBytes?: number, baseFormat = 'qcow2'): Promise<void> {
  const args = ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', fileArg(base), fileArg(path)];
  if (sizeBytes !== undefined) {
    const b = await info(base);
    args.push(String(Math.max(sizeBytes, b.virtualSize)));
  }
  await exec('qemu-img', args, { pkg: 'qemu-utils' });
}

export async function create(path: string, sizeBytes: number, format = 'qcow2'): Promise<void> {
  await exec('qemu-img', ['create', '-q', '-f', format, fileArg(path), String(sizeBytes)], { pkg: 'qemu-utils' });
}

/** Grow an image to `sizeBytes` (never shrinks: that would cut guest filesystems). */
export async function grow(path: string, sizeBytes: number, format = 'qcow2'): Promise<boolean> {
  const i = await info(path);
  if (i.virtualSize >= sizeBytes) return false;
  await exec('qemu-img', ['resize', '-q', '-f', format, fileArg(path), String(sizeBytes)], { pkg: 'qemu-utils' });
  return true;
}

export async function convert(src: string, dst: string, opts: { outFormat?: string; inFormat?: string; compress?: boolean } = {}): Promise<void> {
  const args = ['convert', '-O', opts.outFormat ?? 'qcow2'];
  if (opts.inFormat) args.push('-f', opts.inFormat);
  if (opts.compress) args.push('-c');
  args.push(fileArg(src), fileArg(dst));
  await exec('qemu-img', args, { pkg: 'qemu-utils' });
}

export interface CheckResult {
  ok: boolean;
  /** Raw JSON report (qemu-img check --output=json). */
  report: Record<string, unknown>;
}

export async function check(path: string): Promise<CheckResult> {
  // Exit 0: clean; 2: corruption; 3: leaks only. Others are real failures.
  const r = await exec('qemu-img', ['check', '-U', '--output=json', fileArg(path)], { pkg: 'qemu-utils', okCodes: [0, 2, 3] });
  let report: Record<string, unknown> = {};
  try {
    const j: unknown = JSON.parse(r.stdout);
    if (typeof j === 'object' && j !== null) report = j as Record<string, unknown>;
  } catch {
    /* non-qcow2 formats print no JSON */
  }
  return { ok: r.code === 0, report };
}
