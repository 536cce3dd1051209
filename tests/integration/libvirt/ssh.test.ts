/**
 * `pharos ssh NODE [COMMAND]` with the real ssh client against a real sshd on
 * 127.0.0.1 (tests/unit/suites/sshd-fixture.ts) standing in for a VM: the
 * cluster key authenticates, the pinned known_hosts is enforced (a different
 * pinned key is refused, never "accept new").
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { exec } from '../../../lib/tools/exec.js';
import { clusterPaths } from '../../../lib/cluster/paths.js';
import { writeState } from '../../../lib/cluster/state.js';
import { startSshd, type Sshd } from '../../unit/suites/sshd-fixture.js';

const BIN = fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url));
let sshd: Sshd;
let root: string;

test.before(async () => {
  sshd = await startSshd();
  root = mkdtempSync(join(tmpdir(), 'pht-ssh-'));
});
test.after(async () => {
  await sshd.stop();
  rmSync(root, { recursive: true, force: true });
});

test('pharos ssh uses the cluster key and the pinned host key; a wrong pin is refused', async () => {
  const paths = clusterPaths('pht-ssh', root, root);
  mkdirSync(paths.sshDir, { recursive: true, mode: 0o700 });
  copyFileSync(sshd.keyFile, paths.privateKey);
  copyFileSync(`${sshd.keyFile}.pub`, paths.publicKey);
  copyFileSync(sshd.knownHosts, paths.knownHosts);
  await writeState(paths.stateFile, {
    version: 1,
    cluster: 'pht-ssh',
    uri: 'qemu:///system',
    networkMode: 'user',
    network: 'pht-ssh-cluster',
    pool: 'pht-ssh-pool',
    poolDir: paths.poolDir,
    vms: {
      'pht-ssh-controller': {
        name: 'pht-ssh-controller',
        shortName: 'controller',
        ip: '10.99.0.10',
        mac: '52:54:00:00:00:10',
        sshHost: '127.0.0.1',
        sshPort: sshd.port,
        disk: '/nonexistent',
        consoleLog: '/nonexistent',
        pci: [],
      },
    },
    updatedAt: '',
  });
  const env = { ...process.env, PHAROS_STATE_DIR: root, PHAROS_DATA_DIR: root };
  const ok = await exec('node', [BIN, 'ssh', '-l', sshd.user, 'controller', 'echo', 'hello-from-$(hostname)'], { env, timeoutMs: 30_000 });
  assert.match(ok.stdout, /^hello-from-\S+/);

  writeFileSync(paths.knownHosts, readFileSync(sshd.wrongKnownHosts, 'utf8'));
  const bad = await exec('node', [BIN, 'ssh', '-l', sshd.user, 'controller', 'true'], { env, okCodes: [0, 255], timeoutMs: 30_000 });
  assert.is(bad.code, 255);
  assert.match(bad.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
});

test.run();
