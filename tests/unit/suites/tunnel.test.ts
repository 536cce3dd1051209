/**
 * lib/ssh/tunnel.ts through a real sshd on 127.0.0.1: HTTP requests to the
 * tunnel's local port reach a server that only the SSH server's side is asked
 * to connect to (as the registry on the controller's cluster address), several
 * at once; a destination nobody listens on fails the request instead of
 * hanging; a closed tunnel refuses connections.
 */
import { createServer, type Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type SshConnection } from '../../../lib/tools/ssh.js';
import { openTunnel } from '../../../lib/ssh/tunnel.js';
import { freePort, startSshd, type Sshd } from './sshd-fixture.js';

let sshd: Sshd;
let conn: SshConnection;
let http: Server;
let httpPort = 0;

test.before(async () => {
  sshd = await startSshd();
  conn = await connect({ host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKeyPath: sshd.keyFile, knownHostsPath: sshd.knownHosts });
  http = createServer((req, res) => res.end(`served ${req.url}`));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const a = http.address();
  httpPort = typeof a === 'object' && a ? a.port : 0;
});

test.after(async () => {
  conn?.close();
  await sshd?.stop();
  await new Promise<void>((r) => http.close(() => r()));
});

test('requests through the tunnel reach the far side, several at once', async () => {
  const t = await openTunnel(conn, { host: '127.0.0.1', port: httpPort });
  try {
    assert.match(t.local, /^127\.0\.0\.1:\d+$/);
    assert.is.not(t.port, httpPort);
    const bodies = await Promise.all([1, 2, 3].map((i) => fetch(`http://${t.local}/v2/${i}`).then((r) => r.text())));
    assert.equal(bodies, ['served /v2/1', 'served /v2/2', 'served /v2/3']);
  } finally {
    await t.close();
  }
});

test('a destination nobody listens on fails the request; a closed tunnel refuses', async () => {
  const t = await openTunnel(conn, { host: '127.0.0.1', port: await freePort() });
  let failed = false;
  try {
    await fetch(`http://${t.local}/`, { signal: AbortSignal.timeout(20_000) });
  } catch (e) {
    failed = !(e as Error).name.includes('Timeout');
  }
  assert.ok(failed, 'the request failed at once (not by the 20 s timeout)');
  await t.close();
  let refused = false;
  try {
    await fetch(`http://${t.local}/`, { signal: AbortSignal.timeout(5_000) });
  } catch {
    refused = true;
  }
  assert.ok(refused, 'a closed tunnel takes no connections');
});

test.run();
