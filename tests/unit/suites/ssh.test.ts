import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { PharosError } from '../../../lib/errors.js';
import { exec } from '../../../lib/tools/exec.js';
import {
  connect,
  entryMatches,
  parseKnownHosts,
  run,
  runScript,
  waitForSsh,
  type SshConnection,
} from '../../../lib/tools/ssh.js';
import { KILL_OWN_SESSION, freePort, startSshd, type Sshd } from './sshd-fixture.js';

let sshd: Sshd;
let conn: SshConnection;

test.before(async () => {
  sshd = await startSshd();
  conn = await connect({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.user,
    privateKeyPath: sshd.keyFile,
    knownHostsPath: sshd.knownHosts,
  });
});

test.after(async () => {
  conn?.close();
  await sshd?.stop();
});

async function rejects(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

test('known_hosts: [host]:port, plain, hashed and negated patterns', () => {
  const hashed = '|1|' + Buffer.from('salt-salt-salt-salt!').toString('base64') + '|';
  const h = createHmac('sha1', Buffer.from('salt-salt-salt-salt!')).update('compute-01').digest('base64');
  const text = [
    '# comment',
    '[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==',
    'controller,!bad* ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== c',
    `${hashed}${h} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==`,
  ].join('\n');
  const e = parseKnownHosts(text, 'kh');
  assert.is(e.length, 3);
  assert.is(e[0]?.line, 2);
  assert.ok(entryMatches(e[0]!, '[127.0.0.1]:2222'));
  assert.not.ok(entryMatches(e[0]!, '[127.0.0.1]:2223'));
  assert.ok(entryMatches(e[1]!, 'controller'));
  assert.ok(entryMatches(e[2]!, 'compute-01'));
  assert.not.ok(entryMatches(e[2]!, 'compute-02'));
  assert.throws(() => parseKnownHosts('host-only-no-key\n', '/x/kh'), (err: Error) => /\/x\/kh:1/.test(err.message));
});

test('connect verifies the pinned key and runs commands with exit codes, stdout, stderr', async () => {
  const r = await run(conn, 'echo out; echo err >&2; exit 3', { timeoutMs: 10000 });
  assert.is(r.code, 3);
  assert.is(r.stdout, 'out\n');
  assert.is(r.stderr, 'err\n');
  assert.ok(r.durationMs >= 0);
  const ok = await run(conn, 'cat', { timeoutMs: 10000, input: 'from stdin\n' });
  assert.is(ok.code, 0);
  assert.is(ok.stdout, 'from stdin\n');
});

test('onLine streams complete lines of both streams', async () => {
  const seen: string[] = [];
  await run(conn, 'printf "a\\nb\\n"; printf "c" >&2', { timeoutMs: 10000, onLine: (l, s) => seen.push(`${s}:${l}`) });
  assert.equal(seen.sort(), ['stderr:c', 'stdout:a', 'stdout:b']);
});

test('a wrong pinned host key is refused, naming the file and line', async () => {
  const err = await rejects(
    connect({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.user,
      privateKeyPath: sshd.keyFile,
      knownHostsPath: sshd.wrongKnownHosts,
    }),
  );
  assert.instance(err, PharosError);
  assert.match(err.message, 'HOST KEY MISMATCH');
  assert.match(err.message, `${sshd.wrongKnownHosts}:2`);
});

test('an unpinned host is refused (never trusted on first use)', async () => {
  const empty = join(sshd.dir, 'empty_known_hosts');
  await writeFile(empty, '# nothing pinned\n');
  const err = await rejects(
    connect({ host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKeyPath: sshd.keyFile, knownHostsPath: empty }),
  );
  assert.match(err.message, /no pinned host key for \[127\.0\.0\.1\]:\d+/);
  assert.match(err.message, empty);
});

test('a key pinned under the alias is accepted', async () => {
  const kh = join(sshd.dir, 'alias_known_hosts');
  const keyPart = (await readFile(sshd.knownHosts, 'utf8')).split('\n')[1]!.split(' ').slice(1).join(' ');
  await writeFile(kh, `pharos-compute-01 ${keyPart}\n`);
  const c = await connect({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.user,
    privateKeyPath: sshd.keyFile,
    knownHostsPath: kh,
    hostAlias: 'pharos-compute-01',
  });
  const r = await run(c, 'true', { timeoutMs: 10000 });
  c.close();
  assert.is(r.code, 0);
});

test('a timeout kills the remote command and names what timed out', async () => {
  const marker = `sleep 86${process.pid % 1000}`;
  const t0 = Date.now();
  const err = await rejects(run(conn, `${marker}; echo never`, { timeoutMs: 800, what: 'the slow thing' }));
  assert.ok(Date.now() - t0 < 8000, 'timeout took too long');
  assert.match(err.message, 'timed out after 0.8 s waiting for the slow thing');
  assert.match(err.message, `127.0.0.1:${sshd.port}`);
  // The remote sleep must be gone: poll (bounded) for its disappearance.
  const deadline = Date.now() + 5000;
  let left = '';
  for (;;) {
    const r = await exec('pgrep', ['-f', marker], { okCodes: [0, 1] });
    left = r.stdout.trim();
    if (!left || Date.now() > deadline) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.is(left, '', `remote command still running: pids ${left}`);
});

test('runScript sends the script on stdin with args and env; inner stdin readers cannot eat it', async () => {
  const script = [
    '#!/usr/bin/env bash',
    'set -euo pipefail',
    'cat >/dev/null   # would swallow the rest of a plain `bash -s` script',
    'echo "args=$# first=$1 second=$2"',
    'echo "env=$PHAROS_X"',
    'exit 5',
  ].join('\n');
  const r = await runScript(conn, script, {
    timeoutMs: 10000,
    args: ['one', "it's two"],
    env: { PHAROS_X: 'a b $HOME `x` "q"' },
  });
  assert.is(r.code, 5, r.stderr);
  assert.match(r.stdout, "args=2 first=one second=it's two");
  assert.match(r.stdout, 'env=a b $HOME `x` "q"');
});

test('a connection lost under a running command is an error, and marks the connection closed', async () => {
  const c = await connect({
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.user,
    privateKeyPath: sshd.keyFile,
    knownHostsPath: sshd.knownHosts,
  });
  const t0 = Date.now();
  const err = await rejects(runScript(c, KILL_OWN_SESSION, { timeoutMs: 15000, what: 'the doomed command' }));
  assert.match(err.message, `connection to ${sshd.user}@127.0.0.1:${sshd.port} lost while running the doomed command`);
  assert.ok(Date.now() - t0 < 10000);
  // 'close' may trail the channel's end by a tick.
  for (let i = 0; i < 50 && !c.closed; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(c.closed, 'connection marked closed');
  const again = await rejects(run(c, 'true', { timeoutMs: 5000 }));
  assert.match(again.message, 'the connection is closed');
});

test('waitForSsh waits for the banner of a daemon that starts later', async () => {
  const port = await freePort();
  // Nothing listens yet; then a listener that accepts and stays silent (like
  // QEMU's forward before the guest boots); then a real banner.
  let server: Server;
  const waiting = waitForSsh({ host: '127.0.0.1', port, timeoutMs: 10000 });
  await new Promise((r) => setTimeout(r, 300));
  const silent = createServer((s) => s.end());
  await new Promise<void>((r) => silent.listen(port, '127.0.0.1', () => r()));
  await new Promise((r) => setTimeout(r, 300));
  await new Promise<void>((r) => silent.close(() => r()));
  server = createServer((s) => s.end('SSH-2.0-FakeForTest\r\n'));
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const res = await waiting;
  assert.is(res.banner, 'SSH-2.0-FakeForTest');
  assert.ok(res.waitedMs >= 500);
  await new Promise<void>((r) => server.close(() => r()));
});

test('waitForSsh gives up with host:port and what it awaited', async () => {
  const port = await freePort();
  const err = await rejects(waitForSsh({ host: '127.0.0.1', port, timeoutMs: 700 }));
  assert.match(err.message, `waiting for the SSH banner on 127.0.0.1:${port}`);
  assert.match(err.message, 'ECONNREFUSED');
});

test('waitForSsh against the real sshd', async () => {
  const r = await waitForSsh({ host: '127.0.0.1', port: sshd.port, timeoutMs: 5000 });
  assert.match(r.banner, /^SSH-2\.0-OpenSSH/);
});

test.run();
