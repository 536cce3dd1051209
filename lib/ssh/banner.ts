/**
 * Waiting for an SSH server to be ready: its banner on host:port. No key is
 * exchanged and nothing is trusted here; connecting (with the pinned
 * known_hosts) is lib/tools/ssh.ts.
 */
import { Socket } from 'node:net';
import { PharosError } from '../errors.js';
import { pollWithBackoff } from '../util/poll.js';

export interface WaitOptions {
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Try once: connect and read a line starting `SSH-`. Resolves the banner. */
function readBanner(host: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let buf = '';
    const fail = (why: string): void => {
      sock.destroy();
      reject(new Error(why));
    };
    const t = setTimeout(() => fail('no banner yet'), ms);
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      fail(e.code ?? e.message);
    });
    sock.once('close', () => {
      clearTimeout(t);
      fail('connection closed before the banner');
    });
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      for (const line of buf.split('\n')) {
        if (line.startsWith('SSH-')) {
          clearTimeout(t);
          sock.removeAllListeners('close');
          sock.destroy();
          resolve(line.trim());
          return;
        }
      }
      if (buf.length > 8192) fail('no SSH banner in the first 8 KiB');
    });
    sock.connect(port, host);
  });
}

/**
 * Wait until an SSH server answers on host:port with its banner. A port that
 * merely accepts connections is not enough: QEMU's user-mode forward accepts
 * and then closes while the guest is still booting.
 */
export async function waitForSsh(opts: WaitOptions): Promise<{ banner: string; waitedMs: number }> {
  let last = 'nothing tried';
  const got = await pollWithBackoff(
    async (left) => {
      if (opts.signal?.aborted) throw new PharosError(`interrupted waiting for SSH on ${opts.host}:${opts.port}`, { exitCode: 130 });
      if (left <= 0) return undefined;
      try {
        return await readBanner(opts.host, opts.port, Math.min(left, 5000));
      } catch (e) {
        last = (e as Error).message;
        return undefined;
      }
    },
    { timeoutMs: opts.timeoutMs, firstDelayMs: 100, maxDelayMs: 2000 },
  );
  if (got) return { banner: got.value, waitedMs: got.waitedMs };
  throw new PharosError(
    `timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for the SSH banner on ${opts.host}:${opts.port} (last attempt: ${last})`,
    { hint: 'is the VM running? `virsh console` or its serial log shows how far it booted' },
  );
}
