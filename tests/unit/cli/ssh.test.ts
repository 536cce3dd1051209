/**
 * `pharos ssh` and `pharos ssh-config` through the real bin, against a real
 * sshd on 127.0.0.1 (tests/unit/suites/sshd-fixture.ts) standing in for a VM:
 * the cluster state points at it, the cluster key is its authorized key, and
 * its host key is pinned the way `cluster/identity.ts` pins a VM's.
 * Options after NODE reach the remote command; -L forwards a port through the
 * pinned connection; -l takes a user name and nothing else; ssh-config, as `ssh -G` resolves it and as ssh and scp
 * use it, reaches the VM by name and short name.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterPaths } from '../../../lib/cluster/paths.js';
import { pinHost, pinPatterns } from '../../../lib/cluster/identity.js';
import { exec } from '../../../lib/tools/exec.js';
import { cli, tempRoot, waitFor } from '../engine/helpers.js';
import { freePort, startSshd, type Sshd } from '../suites/sshd-fixture.js';

const root = tempRoot('pharos-ssh-cli-');
const stateRoot = join(root, 'state');
const dataRoot = join(root, 'data');
const env = { PHAROS_STATE_DIR: stateRoot, PHAROS_DATA_DIR: dataRoot };
let sshd: Sshd;

/** A cluster whose one VM is the test sshd; `port` lets a second cluster point elsewhere. */
async function writeCluster(cluster: string, vmName: string, shortName: string, port: number): Promise<void> {
  const paths = clusterPaths(cluster, stateRoot, dataRoot);
  mkdirSync(paths.sshDir, { recursive: true });
  copyFileSync(sshd.keyFile, paths.privateKey);
  const [type, key] = readFileSync(join(sshd.dir, 'host_ed25519.pub'), 'utf8').trim().split(' ');
  await pinHost(paths.knownHosts, pinPatterns('127.0.0.1', port, vmName), [{ type: type!, key: key! }]);
  const vm = { name: vmName, shortName, ip: '192.168.100.10', mac: '52:54:00:00:00:10', sshHost: '127.0.0.1', sshPort: port, disk: join(dataRoot, `${vmName}.qcow2`), consoleLog: join(dataRoot, `${vmName}.log`), pci: [] };
  const state = { version: 1, cluster, uri: 'qemu:///session', networkMode: 'user', network: `${cluster}-net`, pool: `${cluster}-pool`, poolDir: dataRoot, vms: { [vmName]: vm }, updatedAt: new Date().toISOString() };
  writeFileSync(paths.stateFile, JSON.stringify(state));
}

async function pharos(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const c = cli(root, args, env);
  const r = await c.exit;
  return { code: r.code, out: c.stdout(), err: c.stderr() };
}

test.before(async () => {
  sshd = await startSshd();
  await writeCluster('sshc', 'sshc-node-01', 'node-01', sshd.port);
});

test.after(async () => {
  await sshd?.stop();
});

test('options after NODE go to the remote command, without --', async () => {
  const r = await pharos(['ssh', '-l', sshd.user, 'node-01', 'printf', '%s:', '-a', '-v', '--json', '-n', '-C', 'x', '-l', 'y', '--help']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, '-a:-v:--json:-n:-C:x:-l:y:--help:');
  // A -- right after NODE separates, as with ssh; a later one is the command's.
  const sep = await pharos(['ssh', '-l', sshd.user, 'node-01', '--', 'printf', '%s:', '-a', '--']);
  assert.is(sep.code, 0, sep.err);
  assert.is(sep.out, '-a:--:');
  // The remote command's exit status is pharos's.
  const f = await pharos(['ssh', '-l', sshd.user, 'sshc-node-01', 'sh', '-c', '"exit 7"']);
  assert.is(f.code, 7, f.err);
});

test('-l USER logs in as USER with the cluster key; --help says so', async () => {
  const r = await pharos(['ssh', '-l', sshd.user, 'node-01', 'id', '-un']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out.trim(), sshd.user);
  const h = await pharos(['ssh', '--help']);
  assert.match(h.out, 'pharos ssh -l researcher controller');
  assert.match(h.out.replace(/\s+/g, ' '), 'log in as USER (root, or a user of clusters.hpc.users) with the cluster key');
});

for (const bad of ['Researcher', 'a b', '-oProxyCommand=touch', 'x\nHost *', `u${'x'.repeat(32)}`]) {
  test(`-l ${JSON.stringify(bad)} is a usage error (exit 2) for ssh and ssh-config, and no ssh runs`, async () => {
    for (const args of [['ssh', '-l', bad, 'node-01', 'true'], ['ssh-config', '-l', bad]]) {
      const r = await pharos(args);
      assert.is(r.code, 2, `${args[0]}: ${r.err}`);
      assert.match(r.err, 'not a user name');
      assert.not.match(r.err, '    at ');
      assert.is(r.out, '');
    }
  });
}

test('-N -L forwards a local port through the pinned connection; SIGTERM closes it', async () => {
  const target: Server = createServer((s) => s.end('hello from behind the VM\n'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const tport = (target.address() as { port: number }).port;
  const lport = await freePort();
  const c = cli(root, ['ssh', '-l', sshd.user, '-N', '-L', `${lport}:127.0.0.1:${tport}`, 'node-01'], env);
  const read = (): Promise<string | undefined> =>
    new Promise((resolve) => {
      const s = connect(lport, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => resolve(got));
      s.on('error', () => resolve(undefined));
    });
  try {
    const got = await waitFor(`port ${lport} to forward to the server on ${tport} (pharos ssh -L); stderr: ${c.stderr()}`, read);
    assert.is(got, 'hello from behind the VM\n');
  } finally {
    c.child.kill('SIGTERM');
    const r = await c.exit;
    target.close();
    // pharos passed the signal to ssh and waited for it (ssh -N then exits 0), not died of it.
    assert.is(r.signal, null, c.stderr());
  }
  assert.is(await read(), undefined, 'the forward is gone once pharos ssh has exited');
});

function resolved(configFile: string, host: string): Promise<Map<string, string>> {
  return exec('ssh', ['-G', '-F', configFile, host]).then((r) => {
    const m = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const i = line.indexOf(' ');
      if (i > 0 && !m.has(line.slice(0, i))) m.set(line.slice(0, i), line.slice(i + 1));
    }
    return m;
  });
}

test('ssh-config: ssh -G resolves each alias to the endpoint, key and pinned known_hosts', async () => {
  const r = await pharos(['ssh-config', '-l', sshd.user]);
  assert.is(r.code, 0, r.err);
  const file = join(root, 'ssh_config');
  writeFileSync(file, r.out);
  const paths = clusterPaths('sshc', stateRoot, dataRoot);
  for (const host of ['sshc-node-01', 'node-01']) {
    const g = await resolved(file, host);
    assert.is(g.get('hostname'), '127.0.0.1', host);
    assert.is(g.get('port'), String(sshd.port), host);
    assert.is(g.get('user'), sshd.user, host);
    assert.is(g.get('identityfile'), paths.privateKey, host);
    assert.is(g.get('userknownhostsfile'), paths.knownHosts, host);
    assert.is(g.get('stricthostkeychecking'), 'true', host);
    // checked under the endpoint, the name every pin carries (no HostKeyAlias)
    assert.is(g.get('hostkeyalias'), undefined, host);
  }
  // And plain OpenSSH tools use it: a command, and a copy with scp (-O: the
  // test sshd has no sftp subsystem; a VM's has, and scp's default works there).
  const o = await exec('ssh', ['-F', file, '-o', 'BatchMode=yes', 'node-01', 'echo', 'reached']);
  assert.is(o.stdout.trim(), 'reached');
  writeFileSync(join(root, 'payload.txt'), 'copied\n');
  await exec('scp', ['-q', '-O', '-F', file, '-o', 'BatchMode=yes', join(root, 'payload.txt'), `sshc-node-01:${join(root, 'copy.txt')}`]);
  assert.is(readFileSync(join(root, 'copy.txt'), 'utf8'), 'copied\n');
});

test('ssh-config: a short name two clusters share is no alias; --cluster picks one', async () => {
  await writeCluster('other', 'other-node-01', 'node-01', sshd.port);
  const all = await pharos(['ssh-config']);
  assert.is(all.code, 0, all.err);
  assert.match(all.out, /^Host sshc-node-01$/m);
  assert.match(all.out, /^Host other-node-01$/m);
  const one = await pharos(['ssh-config', '--cluster', 'other']);
  assert.is(one.code, 0, one.err);
  assert.match(one.out, /^Host other-node-01 node-01$/m);
  assert.not.match(one.out, /sshc-node-01/);
  const none = await pharos(['ssh-config', '--cluster', 'nosuch']);
  assert.is(none.code, 1);
  assert.match(none.err, /cluster nosuch: not created/);
});

test.run();
