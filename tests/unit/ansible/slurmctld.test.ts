/**
 * A controller-only cluster (`compute_nodes: []`) must give a slurm.conf the
 * real controller daemon runs on: Debian's slurmctld 22.05 (the guests'
 * version) is started in the foreground on the golden controller-only
 * slurm.conf (render.test.ts proves Ansible renders exactly that file), with
 * its paths, port, user and host moved to this machine and a private munged,
 * then asked for its partitions and given a job. Without `MaxNodeCount` the
 * same daemon stops with "no nodes configured": the check can fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exec } from '../../../lib/tools/exec.js';
import { pollWithBackoff } from '../../../lib/util/poll.js';
import { GOLDEN } from './helpers.js';

const CONF = join(GOLDEN, 'render', 'controller-only', 'pharos-controller', 'slurm.conf');

/** Fails loudly when a daemon is missing, so the test cannot pass vacuously. */
async function requireDaemon(cmd: string, pkg: string): Promise<void> {
  try {
    await exec(cmd, ['-V'], { pkg, timeoutMs: 30_000 });
  } catch (e) {
    throw new Error(`${cmd} is required (apt-get install ${pkg}): ${(e as Error).message}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether process `pid` still exists (signal 0 probes without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

interface Controller {
  conf: string;
  log: () => string;
  proc: ChildProcess;
  stop: () => Promise<void>;
}

async function startController(dropMaxNodeCount: boolean): Promise<Controller> {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-slurmctld-'));
  for (const d of ['state/slurmctld', 'log', 'munge']) mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
  const port = await freePort();
  let text = readFileSync(CONF, 'utf8')
    .replace(/^SlurmctldHost=.*$/m, `SlurmctldHost=${hostname().split('.')[0]}`)
    .replace(/^SlurmUser=.*$/m, 'SlurmUser=root')
    .replace(/^SlurmctldPort=.*$/m, `SlurmctldPort=${port}`)
    .replace(/^ProctrackType=.*$/m, 'ProctrackType=proctrack/linuxproc')
    // No slurmdbd here (the e2e accounting suite runs the real one).
    .replace(/^AccountingStorageType=.*$/m, 'AccountingStorageType=accounting_storage/none')
    .replace(/^AccountingStorage(Host|Port|TRES)=.*\n/gm, '')
    .replaceAll('/var/lib/slurm', join(dir, 'state'))
    .replaceAll('/var/log/slurm', join(dir, 'log'))
    .replaceAll('/run/', `${dir}/`);
  if (dropMaxNodeCount) text = text.replace(/^MaxNodeCount=.*\n/m, '');
  const sock = join(dir, 'munge', 'sock');
  text += `AuthInfo=socket=${sock}\n`;
  const conf = join(dir, 'slurm.conf');
  writeFileSync(conf, text);
  writeFileSync(join(dir, 'munge.key'), randomBytes(1024), { mode: 0o600 });
  const m = (f: string) => join(dir, 'munge', f);
  await exec('munged', ['--force', `--key-file=${join(dir, 'munge.key')}`, `--socket=${sock}`, `--pid-file=${m('pid')}`, `--log-file=${m('log')}`, `--seed-file=${m('seed')}`], {
    timeoutMs: 30_000, timeoutWhat: 'munged to start', pkg: 'munge',
  });
  const logFile = join(dir, 'log', 'slurmctld.log');
  const proc = spawn('slurmctld', ['-D', '-f', conf, '-L', logFile], { stdio: 'ignore' });
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM');
      await exited(proc);
    }
    const pid = Number(readFileSync(m('pid'), 'utf8'));
    if (pid > 0) {
      process.kill(pid, 'SIGTERM');
      // munged writes its seed file as it exits: remove the directory only after it is gone.
      const gone = await pollWithBackoff(async () => (alive(pid) ? undefined : true), { timeoutMs: 30_000, firstDelayMs: 20, maxDelayMs: 500 });
      if (!gone) throw new Error(`munged (pid ${pid}) did not exit within 30 s of SIGTERM`);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { conf, log, proc, stop };
}

/** Waits until `scontrol ping` reports the controller UP, or the daemon exits. */
async function waitUp(c: Controller, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  while (Date.now() < deadline) {
    if (c.proc.exitCode !== null) return false;
    const r = await exec('scontrol', ['ping'], { env: { ...process.env, SLURM_CONF: c.conf }, okCodes: [0, 1], timeoutMs: 10_000, timeoutWhat: 'scontrol ping' });
    if (/is UP/.test(r.stdout)) return true;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
  throw new Error(`slurmctld did not answer scontrol ping within ${timeoutMs} ms; its log:\n${c.log()}`);
}

test('Debian slurmctld 22.05 runs a controller-only cluster: partitions with no node, a job is accepted', async () => {
  await requireDaemon('slurmctld', 'slurmctld');
  await requireDaemon('munged', 'munge');
  assert.match(readFileSync(CONF, 'utf8'), /^MaxNodeCount=\d+$/m);
  const c = await startController(false);
  try {
    assert.ok(await waitUp(c, 60_000), `slurmctld exited:\n${c.log()}`);
    const env = { ...process.env, SLURM_CONF: c.conf };
    const info = await exec('sinfo', ['-h', '-o', '%P %a %D'], { env, timeoutMs: 10_000, timeoutWhat: 'sinfo' });
    assert.is(info.stdout.trim(), 'debug* up 0');
    const job = await exec('sbatch', ['--wrap', 'true'], { env, timeoutMs: 10_000, timeoutWhat: 'sbatch' });
    assert.match(job.stdout, /^Submitted batch job \d+/);
    assert.not.match(c.log(), /fatal/);
  } finally {
    await c.stop();
  }
});

test('the same file without MaxNodeCount stops slurmctld with "no nodes configured"', async () => {
  await requireDaemon('slurmctld', 'slurmctld');
  const c = await startController(true);
  try {
    assert.is(await waitUp(c, 60_000), false);
    assert.match(c.log(), 'no nodes configured');
  } finally {
    await c.stop();
  }
});

test.run();
