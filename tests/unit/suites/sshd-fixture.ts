/**
 * A private OpenSSH server on 127.0.0.1 for the SSH and suite tests: its own
 * host key, one authorized client key and a pinned known_hosts, all in a temp
 * directory. Real sshd, not a mock, so host key checks, exit codes and
 * timeouts are exercised against the same server software the VMs run.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir, access } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../../lib/tools/exec.js';
import { waitForSsh } from '../../../lib/tools/ssh.js';

export const SSHD = '/usr/sbin/sshd';

/** Kills this SSH session's sshd process from inside: the connection dies
 *  under the running command, as when a VM is destroyed. */
export const KILL_OWN_SESSION = [
  'p=$$',
  'while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != sshd ]; do p=$(awk \'{print $4}\' /proc/$p/stat); done',
  'echo "killing sshd session $p"',
  'kill -9 "$p"',
  'sleep 20',
].join('\n');


export interface Sshd {
  dir: string;
  port: number;
  user: string;
  keyFile: string;
  knownHosts: string;
  /** A known_hosts pinning a different key for the same host:port. */
  wrongKnownHosts: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function keygen(path: string, comment: string): Promise<string> {
  await exec('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { pkg: 'openssh-client' });
  return (await readFile(`${path}.pub`, 'utf8')).trim();
}

export async function startSshd(): Promise<Sshd> {
  try {
    await access(SSHD);
  } catch {
    throw new Error(`${SSHD} is missing: apt-get install -y openssh-server (the SSH tests need a real sshd)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'pharos-sshd-'));
  // sshd refuses to start without its privilege-separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const hostPub = await keygen(join(dir, 'host_ed25519'), 'pharos-test-host');
  const otherPub = await keygen(join(dir, 'other_host_ed25519'), 'pharos-test-other');
  const clientPub = await keygen(join(dir, 'client_ed25519'), 'pharos-test-client');
  await writeFile(join(dir, 'authorized_keys'), `${clientPub}\n`, { mode: 0o600 });
  const port = await freePort();
  const [hType, hKey] = hostPub.split(' ');
  const [oType, oKey] = otherPub.split(' ');
  await writeFile(join(dir, 'known_hosts'), `# pinned by the test\n[127.0.0.1]:${port} ${hType} ${hKey}\n`);
  await writeFile(join(dir, 'wrong_known_hosts'), `# a different key\n[127.0.0.1]:${port} ${oType} ${oKey}\n`);
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'LogLevel ERROR',
    '',
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), config);
  const ac = new AbortController();
  let log = '';
  let exited = false;
  const daemon = exec(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
    signal: ac.signal,
    killGraceMs: 2000,
    onLine: (l) => (log += `${l}\n`),
  }).then(
    () => {
      exited = true;
    },
    () => {
      exited = true;
    },
  );
  try {
    await waitForSsh({ host: '127.0.0.1', port, timeoutMs: 15000 });
  } catch (e) {
    ac.abort();
    await daemon;
    throw new Error(`${(e as Error).message}\nsshd log:\n${log}${exited ? '(sshd exited)' : ''}`);
  }
  return {
    dir,
    port,
    user: userInfo().username,
    keyFile: join(dir, 'client_ed25519'),
    knownHosts: join(dir, 'known_hosts'),
    wrongKnownHosts: join(dir, 'wrong_known_hosts'),
    async stop() {
      ac.abort();
      await daemon;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
