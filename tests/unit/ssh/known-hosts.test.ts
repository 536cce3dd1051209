/**
 * One known_hosts module: what `pinHost` writes is what `connect`'s check
 * (parseKnownHosts + verifyHostKey) accepts, for the SSH endpoint and the
 * node's name, and nothing else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { hostPattern, knownHostNames, parseKnownHosts, pinHost, pinPatterns, unpinHost, verifyHostKey } from '../../../lib/ssh/known-hosts.js';

const blob = (n: number): Buffer => {
  const name = Buffer.from('ssh-ed25519');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(name.length);
  return Buffer.concat([len, name, Buffer.alloc(36, n)]);
};

test('a pinned VM is accepted by its endpoint and its name; another key is a mismatch naming the line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pharos-khs-'));
  try {
    const kh = join(dir, 'known_hosts');
    await pinHost(kh, pinPatterns('127.0.0.1', 2222, 'hpc-controller'), [{ type: 'ssh-ed25519', key: blob(1).toString('base64') }]);
    await pinHost(kh, pinPatterns('10.0.0.5', 22, 'hpc-compute-01'), [{ type: 'ssh-ed25519', key: blob(2).toString('base64') }]);
    const text = readFileSync(kh, 'utf8');
    assert.match(text, /^\[127\.0\.0\.1\]:2222,hpc-controller ssh-ed25519 /m);
    assert.match(text, /^10\.0\.0\.5,hpc-compute-01 ssh-ed25519 /m);
    const entries = parseKnownHosts(text, kh);
    assert.is(entries.length, 2);
    assert.is(verifyHostKey(entries, knownHostNames('127.0.0.1', 2222), blob(1), kh), null);
    assert.is(verifyHostKey(entries, knownHostNames('10.0.0.5', 22), blob(2), kh), null);
    // by the node's name through another endpoint (the alias a connection gives)
    assert.is(verifyHostKey(entries, knownHostNames('192.0.2.1', 22, 'hpc-compute-01'), blob(2), kh), null);
    assert.match(verifyHostKey(entries, knownHostNames('127.0.0.1', 2222), blob(2), kh) ?? '', `HOST KEY MISMATCH for [127.0.0.1]:2222`);
    assert.match(verifyHostKey(entries, knownHostNames('127.0.0.1', 2222), blob(2), kh) ?? '', `${kh}:1`);
    assert.match(verifyHostKey(entries, knownHostNames('127.0.0.1', 2223), blob(1), kh) ?? '', 'no pinned host key');
    await unpinHost(kh, pinPatterns('127.0.0.1', 2222, 'hpc-controller'));
    assert.equal(
      parseKnownHosts(readFileSync(kh, 'utf8'), kh).map((e) => e.patterns),
      [['10.0.0.5', 'hpc-compute-01']],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('host patterns as OpenSSH writes them', () => {
  assert.is(hostPattern('10.0.0.5', 22), '10.0.0.5');
  assert.is(hostPattern('127.0.0.1', 2222), '[127.0.0.1]:2222');
  assert.equal(knownHostNames('127.0.0.1', 2222, 'vm'), ['[127.0.0.1]:2222', 'vm', '[vm]:2222']);
});

test.run();
