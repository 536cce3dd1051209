/**
 * The KVM probe against the real qemu-system-x86_64. On the development
 * machine nested KVM is broken, so the probe must say "unusable" with QEMU's
 * own reason; set PHAROS_EXPECT_KVM=usable on a host where KVM works. The TCG
 * runs of the same probe prove it can also succeed, i.e. that it really boots
 * a guest and checks what the guest printed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedProbeKvm, probeAcceleration, probeGuest, probeKvm, resetAccelerationProbe, findKernel } from '../../../lib/host/kvm.js';
import { which } from '../../../lib/tools/exec.js';

const EXPECT = process.env['PHAROS_EXPECT_KVM'] ?? 'unusable';

test('qemu-system-x86_64 and a kernel are available (else the probe tests cannot run)', async () => {
  assert.ok(await which('qemu-system-x86_64'), 'qemu-system-x86_64 not on PATH: apt-get install qemu-system-x86');
  assert.ok(await findKernel(), 'no readable /boot/vmlinuz-*: apt-get install linux-image-cloud-amd64');
});

test(`probeKvm boots a guest under KVM and reports it ${EXPECT}`, async () => {
  const r = await probeKvm({ timeoutMs: 30_000 });
  assert.is(r.ran, true, `qemu must really run: ${r.reason}`);
  assert.is(r.method, 'kernel');
  assert.is(r.command[0], 'qemu-system-x86_64');
  assert.ok(r.command.includes('-accel') && r.command[r.command.indexOf('-accel') + 1] === 'kvm');
  assert.is(r.usable, EXPECT === 'usable', r.reason);
  if (!r.usable) {
    assert.ok(r.reason.length > 20, r.reason);
    // The reason is QEMU's own words (exit status and its message), not a guess.
    assert.ok(r.exitCode !== undefined || /did not finish/.test(r.reason), r.reason);
  }
});

test('the same probe succeeds under TCG: it really sees the guest kernel run', async () => {
  const r = await probeGuest('tcg', { timeoutMs: 60_000 });
  assert.is(r.usable, true, `${r.reason}\n${r.qemuStderr}`);
  assert.is(r.exitCode, 0);
  assert.match(r.serialTail + r.reason, /Kernel|tcg/);
});

test('boot-sector fallback (no readable kernel) also executes guest code under TCG', async () => {
  const r = await probeGuest('tcg', { kernel: false, timeoutMs: 30_000 });
  assert.is(r.method, 'bootsector');
  assert.is(r.usable, true, r.reason);
  assert.is(r.exitCode, 85);
});

test('a guest that cannot boot is unusable, within the timeout', async () => {
  // Not a kernel at all: QEMU refuses it; the probe must say so, not hang.
  const t = Date.now();
  const r = await probeGuest('tcg', { kernel: '/dev/null', timeoutMs: 3_000 });
  assert.is(r.usable, false);
  assert.ok(Date.now() - t < 15_000);
  assert.ok(r.reason.length > 0);
});

test('missing /dev/kvm: unusable without starting qemu', async () => {
  const r = await probeKvm({ devKvm: '/nonexistent/kvm' });
  assert.is(r.ran, false);
  assert.is(r.usable, false);
  assert.match(r.reason, '/nonexistent/kvm does not exist');
});

test('probeAcceleration: auto falls back to TCG with a clear notice; tcg is taken as given', async () => {
  resetAccelerationProbe();
  const d = await probeAcceleration('auto');
  if (EXPECT === 'usable') assert.is(d.acceleration, 'kvm');
  else {
    assert.is(d.acceleration, 'tcg');
    assert.match(d.notice ?? '', 'KVM is not usable');
    assert.match(d.notice ?? '', 'TCG');
  }
  const t = await probeAcceleration('tcg');
  assert.is(t.acceleration, 'tcg');
  assert.is(t.probe, undefined);
});

test('the verdict is cached by key and reused; a changed key probes again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-kvm-cache-'));
  try {
    const file = join(dir, 'kvm-probe.json');
    const first = await cachedProbeKvm(file);
    assert.is(first.cached, false);
    assert.is(first.ran, true);
    const second = await cachedProbeKvm(file);
    assert.is(second.cached, true);
    assert.is(second.usable, first.usable);
    assert.is(second.reason, first.reason);
    const c = JSON.parse(readFileSync(file, 'utf8')) as { key: string };
    writeFileSync(file, JSON.stringify({ ...c, key: 'stale' }));
    assert.is((await cachedProbeKvm(file)).cached, false);
    assert.is((await cachedProbeKvm(file, { fresh: true })).cached, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
