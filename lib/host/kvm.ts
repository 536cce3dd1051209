/**
 * Proving that KVM works by running guest code under it, not by looking at
 * `/dev/kvm`: nested virtualisation is often "present" yet broken (the device
 * opens, then QEMU aborts setting MSRs or the guest hangs on its first real
 * instruction). The probe boots the host's own kernel with no root disk and
 * `panic=-1`: reaching the kernel's "no root filesystem" panic means the CPU
 * ran protected/long mode, paging, interrupts and timers under the accelerator,
 * and `-no-reboot` turns the panic's reboot into a clean QEMU exit. Where no
 * kernel is readable (Ubuntu keeps /boot/vmlinuz-* at 0600) a 512-byte boot
 * sector that writes `K` to the serial port and exits through the
 * isa-debug-exit device is booted instead (weaker: real mode only).
 */
import { access, constants, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { exec } from '../tools/exec.js';
import { which } from '../util/which.js';
import type { Acceleration, AccelerationSetting } from '../model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { lastLines } from '../util/lines.js';
import { formatDuration } from '../util/duration.js';

export interface GuestProbeResult {
  accel: Acceleration;
  usable: boolean;
  reason: string;
  /** Whether QEMU was actually started (false when /dev/kvm is missing). */
  ran: boolean;
  method: 'kernel' | 'bootsector' | 'none';
  /** Full QEMU argument vector that ran. */
  command: string[];
  exitCode?: number;
  durationMs: number;
  /** Last lines the guest wrote to its serial port. */
  serialTail: string;
  /** Last lines of QEMU's own stderr. */
  qemuStderr: string;
}

export interface ProbeOptions {
  qemu?: string;
  /** Kernel to boot; default the newest readable /boot/vmlinuz-*. `false` forces the boot-sector probe. */
  kernel?: string | false;
  bootDir?: string;
  devKvm?: string;
  timeoutMs?: number;
}

/** x86 real-mode boot sector: out 0x3f8,'K'; out 0xf4,0x2a (isa-debug-exit → QEMU exit code 85); hlt loop. */
export function bootSector(): Buffer {
  const code = [0xb0, 0x4b, 0xba, 0xf8, 0x03, 0xee, 0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd];
  const b = Buffer.alloc(512 * 2048);
  Buffer.from(code).copy(b, 0);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}
const DEBUG_EXIT_CODE = (0x2a << 1) | 1;

export async function findKernel(bootDir = '/boot'): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(bootDir);
  } catch {
    return undefined;
  }
  const cands = names.filter((n) => n.startsWith('vmlinuz-')).sort().reverse();
  for (const n of cands) {
    try {
      await access(join(bootDir, n), constants.R_OK);
      return join(bootDir, n);
    } catch {
      /* unreadable: try the next */
    }
  }
  return undefined;
}


/** Boots a tiny guest under `accel` and reports whether guest code really ran. */
export async function probeGuest(accel: Acceleration, opts: ProbeOptions = {}): Promise<GuestProbeResult> {
  const started = Date.now();
  const base = { accel, durationMs: 0, serialTail: '', qemuStderr: '', command: [] as string[] };
  if (accel === 'kvm') {
    const dev = opts.devKvm ?? '/dev/kvm';
    try {
      await access(dev, constants.R_OK | constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return {
        ...base,
        usable: false,
        ran: false,
        method: 'none',
        reason: code === 'ENOENT' ? `${dev} does not exist (kvm module not loaded, or virtualisation disabled in firmware)` : `${dev} is not readable and writable by this user (add it to the kvm group)`,
      };
    }
  }
  const qemu = opts.qemu ?? 'qemu-system-x86_64';
  const kernel = opts.kernel === false ? undefined : (opts.kernel ?? (await findKernel(opts.bootDir)));
  const dir = await mkdtemp(join(tmpdir(), 'pharos-kvm-probe-'));
  const serial = join(dir, 'serial.log');
  const args = ['-accel', accel, '-nodefaults', '-display', 'none', '-no-reboot', '-m', '256', '-smp', '1', '-serial', `file:${serial}`];
  // Under KVM the guest sees the host CPU, as Pharos VMs do; TCG emulates `max`.
  args.push('-cpu', accel === 'kvm' ? 'host' : 'max');
  let method: GuestProbeResult['method'];
  if (kernel) {
    method = 'kernel';
    args.push('-machine', 'q35', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 loglevel=1 root=/dev/pharos-probe-none');
  } else {
    method = 'bootsector';
    const img = join(dir, 'boot.img');
    await writeFile(img, bootSector());
    args.push('-machine', 'pc', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${img},format=raw,if=ide,index=0`, '-boot', 'c');
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let exitCode: number | undefined;
  let stderr = '';
  let timedOut = false;
  try {
    const r = await exec(qemu, args, { timeoutMs, timeoutWhat: `a ${accel} test guest to boot`, okCodes: Array.from({ length: 256 }, (_, i) => i), pkg: 'qemu-system-x86', killGraceMs: 1000 });
    exitCode = r.code;
    stderr = r.stderr;
  } catch (e) {
    const msg = (e as Error).message;
    if (/timed out/.test(msg)) timedOut = true;
    else {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
  const out = await readFile(serial, 'utf8').catch(() => '');
  await rm(dir, { recursive: true, force: true });
  const result = { ...base, ran: true, method, command: [qemu, ...args], durationMs: Date.now() - started, serialTail: lastLines(out, 6), qemuStderr: lastLines(stderr, 4) };
  const ranToEnd = method === 'kernel' ? /Kernel panic|VFS: Unable to mount root/.test(out) && exitCode === 0 : exitCode === DEBUG_EXIT_CODE && out.includes('K');
  if (ranToEnd) {
    return { ...result, exitCode, usable: true, reason: `a test guest booted under ${accel} in ${formatDuration(result.durationMs)} (${method})` };
  }
  let reason: string;
  if (timedOut) reason = `the ${accel} test guest did not finish within ${timeoutMs / 1000} s (it hangs: guest code does not run)`;
  else {
    const qe = stderr.split('\n').map((l) => l.replace(/^qemu-system-x86_64: /, '').trim()).filter((l) => l && !/^warning:/.test(l));
    reason = `the ${accel} test guest failed (QEMU exit ${exitCode})${qe.length ? `: ${qe.slice(0, 2).join('; ')}` : ''}`;
  }
  const r: GuestProbeResult = { ...result, usable: false, reason };
  if (exitCode !== undefined) r.exitCode = exitCode;
  return r;
}

/** Whether KVM really runs guests here. */
export async function probeKvm(opts: ProbeOptions = {}): Promise<GuestProbeResult> {
  return probeGuest('kvm', opts);
}

export interface AccelerationDecision {
  acceleration: Acceleration;
  /** A line for the user when Pharos falls back or was told what to use. */
  notice?: string;
  probe?: GuestProbeResult;
}

/**
 * What a KVM verdict depends on: the QEMU binary, the host kernel, /dev/kvm.
 * Stat-based so checking the cache costs no process start.
 */
export async function probeCacheKey(opts: ProbeOptions = {}): Promise<string> {
  const qemu = opts.qemu ?? (await which('qemu-system-x86_64')) ?? 'qemu-system-x86_64';
  const q = await stat(qemu).catch(() => undefined);
  const k = await stat(opts.devKvm ?? '/dev/kvm').catch(() => undefined);
  return JSON.stringify({ qemu, qemuSize: q?.size, qemuMtime: q?.mtimeMs, kernel: release(), kvm: k ? `${k.rdev}:${k.mode}:${k.gid}` : null, uid: process.getuid?.() });
}

/**
 * `probeKvm` with its verdict kept in `cacheFile` (e.g. `.pharos/kvm-probe.json`)
 * until the key changes: the graph asks on every build, and a KVM boot costs a
 * second. `pharos doctor` always probes afresh and refreshes the file.
 */
export async function cachedProbeKvm(cacheFile: string, opts: ProbeOptions & { fresh?: boolean } = {}): Promise<GuestProbeResult & { cached: boolean }> {
  const key = await probeCacheKey(opts);
  if (!opts.fresh) {
    try {
      const c = JSON.parse(await readFile(cacheFile, 'utf8')) as { key: string; result: GuestProbeResult };
      if (c.key === key) return { ...c.result, cached: true };
    } catch {
      /* no cache or unreadable: probe */
    }
  }
  const result = await probeKvm(opts);
  if (result.ran || !result.usable) {
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFileAtomic(cacheFile, JSON.stringify({ key, result }, null, 2));
  }
  return { ...result, cached: false };
}

let memo: Promise<GuestProbeResult> | undefined;

/** Resolves a config's `auto|kvm|tcg` to what VMs will use; the probe runs once per process. */
export async function probeAcceleration(
  setting: AccelerationSetting = 'auto',
  opts: ProbeOptions & { cacheFile?: string; fresh?: boolean } = {},
): Promise<AccelerationDecision> {
  if (setting === 'tcg') return { acceleration: 'tcg', notice: 'acceleration: tcg (set in the config)' };
  memo ??= opts.cacheFile ? cachedProbeKvm(opts.cacheFile, opts) : probeKvm(opts);
  const probe = await memo;
  if (probe.usable) return { acceleration: 'kvm', probe };
  if (setting === 'kvm') {
    return { acceleration: 'kvm', probe, notice: `acceleration: kvm was requested, but KVM does not work here: ${probe.reason}. VMs will fail to start; set hardware.acceleration.mode: auto or tcg` };
  }
  return {
    acceleration: 'tcg',
    probe,
    notice: `KVM is not usable (${probe.reason}); VMs and image builds use TCG emulation instead: same results, several times slower`,
  };
}

/** For tests: forget the memoised probe. */
export function resetAccelerationProbe(): void {
  memo = undefined;
}
