/**
 * The distributed-training example (examples/training) and its suite.
 *
 * - The suite's checks name, in `# @file` headers, the repository files the
 *   runner copies to the node: they must exist.
 * - train.sbatch is run by real bash with stand-ins for the two Slurm commands
 *   it calls (scontrol answers for a two-node job; srun prints the line it was
 *   given and the environment): what is proven is the batch script's own part,
 *   the master address and port, the container option and the arguments.
 * - train_ddp.py is run for real: its environment errors need only python3;
 *   the training (two gloo ranks on loopback, stop and resume) needs a python3
 *   with torch (Debian's python3-torch); where none is installed that test says
 *   so and proves nothing else.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile, chmod, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exec } from '../../../lib/tools/exec.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLE = join(REPO, 'examples/training');
const SUITE = join(REPO, 'tests/suites/distributed-training');
const TRAIN = join(EXAMPLE, 'train_ddp.py');

let tmp = '';
test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pharos-training-'));
});
test.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('the suite copies the example with @file headers that name existing files', async () => {
  const named = new Map<string, string[]>();
  for (const f of (await readdir(SUITE)).filter((n) => n.endsWith('.sh')).sort()) {
    const files = [...(await readFile(join(SUITE, f), 'utf8')).matchAll(/^# @file (\S+)$/gm)].map((m) => m[1] ?? '');
    named.set(f, files);
    for (const p of files) assert.ok((await stat(join(REPO, p))).isFile(), `${f}: @file ${p} is not a file`);
  }
  for (const f of ['check-20-train.sh', 'check-30-resume.sh']) {
    assert.equal(named.get(f), ['examples/training/train_ddp.py', 'examples/training/train.sbatch'], f);
  }
});

/** A directory of stand-in commands: scontrol for a job on c01 (10.1.2.3) and c02, an srun that reports. */
async function fakeSlurm(): Promise<string> {
  const bin = join(tmp, 'bin');
  await mkdir(bin, { recursive: true });
  const scontrol = [
    '#!/usr/bin/env bash',
    'case "$1 $2" in',
    // More names than a pipe holds (a job of 20002 nodes): a reader that
    // stops after the first (`| head -n1`) kills scontrol with SIGPIPE, which
    // under pipefail ended the batch script without a word.
    '  "show hostnames") printf "c01\\nc02\\n"; printf "n%05d\\n" {1..20000} ;;',
    '  "show node") [[ $3 == c01 ]] && a=10.1.2.3 || a=10.1.2.4; echo "NodeName=$3 Arch=x86_64"; echo "   NodeAddr=$a NodeHostName=$3" ;;',
    '  *) exit 1 ;;',
    'esac',
  ].join('\n');
  const srun = '#!/usr/bin/env bash\necho "srun $*"\necho "env MASTER_ADDR=$MASTER_ADDR MASTER_PORT=$MASTER_PORT"\n';
  await writeFile(join(bin, 'scontrol'), `${scontrol}\n`);
  await writeFile(join(bin, 'srun'), srun);
  await chmod(join(bin, 'scontrol'), 0o755);
  await chmod(join(bin, 'srun'), 0o755);
  return bin;
}

async function sbatchRun(bundle: string | undefined, args: string[]) {
  const bin = await fakeSlurm();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: '/home/alice',
    SLURM_JOB_ID: '45678',
    SLURM_JOB_NAME: 'train-ddp',
    SLURM_JOB_NODELIST: 'c[01-02]',
    SLURM_NTASKS: '2',
    SLURM_SUBMIT_DIR: EXAMPLE,
  };
  delete env.PHAROS_CONTAINER_BUNDLE;
  if (bundle !== undefined) env.PHAROS_CONTAINER_BUNDLE = bundle;
  return exec('bash', [join(EXAMPLE, 'train.sbatch'), ...args], { env, okCodes: [0, 2], pkg: 'bash' });
}

test('train.sbatch: the first node is the master, the port comes from the job id, the bundle and the arguments reach srun', async () => {
  const bundle = join(tmp, 'bundle');
  await mkdir(bundle, { recursive: true });
  await writeFile(join(bundle, 'config.json'), '{}\n');
  const r = await sbatchRun(bundle, ['--epochs', '3']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `env MASTER_ADDR=10.1.2.3 MASTER_PORT=${20000 + (45678 % 20000)}\n`);
  assert.match(r.stdout,
    `srun --kill-on-bad-exit=1 --ntasks=2 --ntasks-per-node=1 pharos-run ${bundle} python3 ${TRAIN} --checkpoint-dir /home/alice/checkpoints/train-ddp --epochs 3\n`);

  const none = await sbatchRun('none', []);
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, `srun --kill-on-bad-exit=1 --ntasks=2 --ntasks-per-node=1 python3 ${TRAIN} --checkpoint-dir`);

  // The default bundle, $HOME/containers/pytorch, is not there: a clear error, no srun.
  const missing = await sbatchRun(undefined, []);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, '/home/alice/containers/pytorch is no OCI bundle (no config.json)');
  assert.not.match(missing.stdout, 'srun');
});

test('train_ddp.py: a missing Slurm or master variable is named', async () => {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['SLURM_PROCID', 'SLURM_NTASKS', 'MASTER_ADDR', 'MASTER_PORT']) delete base[k];
  const run = (env: NodeJS.ProcessEnv) => exec('python3', [TRAIN, '--checkpoint-dir', join(tmp, 'unused')], { env, okCodes: [2], pkg: 'python3' });
  assert.match((await run(base)).stderr, 'error: SLURM_PROCID is not set');
  assert.match((await run({ ...base, SLURM_PROCID: '0' })).stderr, 'error: SLURM_NTASKS is not set');
  assert.match((await run({ ...base, SLURM_PROCID: '0', SLURM_NTASKS: '2' })).stderr, 'error: MASTER_ADDR is not set');
  assert.match((await run({ ...base, SLURM_PROCID: '0', SLURM_NTASKS: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: 'x' })).stderr,
    "error: MASTER_PORT='x' is not an integer");
});

/** A python3 that imports torch, or undefined. */
async function torchPython(): Promise<string | undefined> {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = await exec(py, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()'], { okCodes: [0, 1, 127] }).catch(() => undefined);
    if (r?.code === 0) return py;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Two ranks of train_ddp.py on loopback; the result line of each. */
async function train(py: string, dir: string, args: string[]): Promise<{ out: string[]; results: Map<string, string>[] }> {
  const port = String(await freePort());
  const runs = [0, 1].map((rank) =>
    exec(py, [TRAIN, '--checkpoint-dir', dir, '--init-timeout', '60', ...args], {
      env: { ...process.env, SLURM_PROCID: String(rank), SLURM_NTASKS: '2', SLURM_LOCALID: '0', MASTER_ADDR: '127.0.0.1', MASTER_PORT: port, CUDA_VISIBLE_DEVICES: '0' },
      timeoutMs: 180_000,
      timeoutWhat: `rank ${rank} of train_ddp.py`,
    }));
  const out = (await Promise.all(runs)).map((r) => r.stdout);
  const results = out.map((o, rank) => {
    const line = o.split('\n').find((l) => l.startsWith(`result rank=${rank} `));
    assert.ok(line, `rank ${rank} printed no result line:\n${o}`);
    return new Map(line.split(' ').slice(1).map((kv) => kv.split('=') as [string, string]));
  });
  return { out, results };
}

test('train_ddp.py: two gloo ranks learn, end identical, checkpoint; stopped and resumed, the weights are the same', async () => {
  const py = await torchPython();
  if (!py) {
    console.log('  (no python3 with torch here: install python3-torch to run the training itself)');
    return;
  }
  const whole = await train(py, join(tmp, 'ck-whole'), ['--epochs', '8']);
  const [r0, r1] = whole.results;
  assert.ok(r0 && r1);
  assert.is(r0.get('weights_sha256'), r1.get('weights_sha256'), 'both ranks end with the same weights');
  assert.is(r0.get('epoch'), '8');
  assert.ok(Number(r0.get('factor')) >= 5, `the loss fell ${r0.get('factor')}x in 8 epochs`);
  assert.match(whole.out[1] ?? '', /^note: CUDA_VISIBLE_DEVICES=0 set by Slurm \(emulated GPU\); computing on the CPU/m);
  assert.ok((await stat(join(tmp, 'ck-whole', 'checkpoint.pt'))).size > 0, 'rank 0 wrote the checkpoint');
  assert.not.ok((await readdir(join(tmp, 'ck-whole'))).some((n) => n.endsWith('.tmp')), 'no temporary file left');

  const part = await train(py, join(tmp, 'ck-resume'), ['--epochs', '8', '--stop-after', '3']);
  assert.is(part.results[0]?.get('epoch'), '3');
  assert.match(part.out[0] ?? '', 'stopped after 3 epoch(s) this run (--stop-after 3) at epoch=3 of 8');
  const rest = await train(py, join(tmp, 'ck-resume'), ['--epochs', '8']);
  for (const o of rest.out) assert.match(o, `resumed from epoch=3 checkpoint=${join(tmp, 'ck-resume', 'checkpoint.pt')}`);
  assert.match(rest.out[0] ?? '', /^epoch=4 /m);
  assert.not.match(rest.out[0] ?? '', /^epoch=3 /m);
  assert.is(rest.results[0]?.get('weights_sha256'), r0.get('weights_sha256'), 'resumed, the weights are those of the uninterrupted run');
  assert.is(rest.results[0]?.get('loss_first'), r0.get('loss_first'), 'the loss history came with the checkpoint');
});

test.run();
