/**
 * SSH to cluster nodes with the `ssh2` library (no `ssh` binary, no shell line
 * built from config): connect, run a command, run a script. Host keys are
 * always verified against the per-cluster pinned `known_hosts`
 * (lib/ssh/known-hosts.ts): an unknown host or a different key is refused with
 * an error naming the file and line, never accepted "this once". Waiting for a
 * booting VM's SSH banner is lib/ssh/banner.ts.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
// ssh2 (with its crypto dependencies) loads when a connection is made, not at
// start-up: most commands never open one.
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { PharosError } from '../errors.js';
import { entryMatches, knownHostNames, parseKnownHosts, verifyHostKey } from '../ssh/known-hosts.js';
import { LineSplitter, lastLines } from '../util/lines.js';
import { shellQuote, shellQuoteArg } from '../util/shell.js';

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  privateKeyPath: string;
  knownHostsPath: string;
  /** Another name the host may be pinned under (e.g. the node's domain name). */
  hostAlias?: string;
  readyTimeoutMs?: number;
}

/** An open, verified connection. `label` is how messages name it. */
export interface SshConnection {
  readonly client: Client;
  readonly label: string;
  /** True once the transport is gone (closed by us, the server, or a dead peer). */
  readonly closed: boolean;
  close(): void;
}

export interface RunOptions {
  timeoutMs: number;
  /** What a timeout message says was running (default: the command). */
  what?: string;
  /** Written to the remote command's stdin, which is then closed. */
  input?: string;
  /** A file streamed to the remote command's stdin (instead of `input`), which is then closed. */
  inputFile?: string;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

// Still importable from here (the suite tests and the slow image tests use them).
export { entryMatches, parseKnownHosts } from '../ssh/known-hosts.js';
export { waitForSsh } from '../ssh/banner.js';

/** Host key algorithms to offer so the server presents a key type we pinned. */
function algorithmsFor(types: string[]): string[] {
  const out: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return [...new Set(out)];
}

// ---------------------------------------------------------------- connect

export async function connect(opts: ConnectOptions): Promise<SshConnection> {
  const label = `${opts.username}@${opts.host}:${opts.port}`;
  let khText: string;
  let privateKey: Buffer;
  try {
    khText = await readFile(opts.knownHostsPath, 'utf8');
  } catch (e) {
    throw new PharosError(`cannot read pinned known_hosts ${opts.knownHostsPath}: ${(e as Error).message}`, {
      hint: 'the VM targets write it when they create host keys; run `pharos build cluster`',
    });
  }
  try {
    privateKey = await readFile(opts.privateKeyPath);
  } catch (e) {
    throw new PharosError(`cannot read SSH private key ${opts.privateKeyPath}: ${(e as Error).message}`, {
      hint: 'run `pharos build ssh:keys`',
    });
  }
  const entries = parseKnownHosts(khText, opts.knownHostsPath);
  const names = knownHostNames(opts.host, opts.port, opts.hostAlias);
  const types = [
    ...new Set(entries.filter((e) => !e.marker && names.some((n) => entryMatches(e, n))).map((e) => e.keyType)),
  ];
  if (types.length === 0) {
    throw new PharosError(`no pinned host key for ${names.join(' or ')} in ${opts.knownHostsPath}`, {
      hint: 'Pharos never trusts an unknown host key; recreate the VM so its key is pinned',
    });
  }

  const { Client: SshClient } = await import('ssh2');
  const client = new SshClient();
  return new Promise<SshConnection>((resolve, reject) => {
    let refusal: string | null = null;
    let settled = false;
    const config: ConnectConfig = {
      host: opts.host,
      port: opts.port,
      username: opts.username,
      privateKey,
      readyTimeout: opts.readyTimeoutMs ?? 20000,
      // A VM destroyed behind a NAT bridge sends no RST: keepalives notice it.
      keepaliveInterval: 10000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: algorithmsFor(types) as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
      hostVerifier: (key: Buffer): boolean => {
        refusal = verifyHostKey(entries, names, key, opts.knownHostsPath);
        return refusal === null;
      },
    };
    client.once('ready', () => {
      settled = true;
      let closed = false;
      client.on('error', () => {
        /* later errors surface through the channel that hit them */
      });
      client.once('close', () => (closed = true));
      resolve({
        client,
        label,
        get closed() {
          return closed;
        },
        close: () => {
          closed = true;
          client.end();
        },
      });
    });
    client.once('error', (err: Error & { level?: string }) => {
      if (settled) return;
      settled = true;
      client.end();
      if (refusal) {
        reject(
          new PharosError(`refusing to connect to ${label}: ${refusal}`, {
            hint: `if the VM was recreated on purpose, rebuild it so ${opts.knownHostsPath} is re-pinned; never disable host key checking`,
          }),
        );
        return;
      }
      const what =
        err.level === 'client-authentication'
          ? `authentication as ${opts.username} with ${opts.privateKeyPath} failed`
          : err.message;
      reject(new PharosError(`ssh ${label}: ${what}`));
    });
    client.connect(config);
  });
}

// ---------------------------------------------------------------- run

/** The first stderr line of every run carries the remote shell's PID so a
 *  timeout can kill its whole process group (sshd makes it a session leader). */
const PID_MARK = '\u001epharos-pid ';

function execChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, ch) => (err ? reject(err) : resolve(ch)));
  });
}

async function killRemote(conn: SshConnection, pid: number): Promise<void> {
  try {
    const ch = await execChannel(conn.client, `kill -KILL -- -${pid} 2>/dev/null || kill -KILL ${pid} 2>/dev/null; true`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      ch.on('close', () => {
        clearTimeout(t);
        resolve();
      });
      ch.resume();
      ch.stderr.resume();
    });
  } catch {
    /* the connection may be gone; nothing more we can do */
  }
}

/** Run `command` through the remote user's shell. Exit codes are returned,
 *  not thrown; a timeout kills the remote process group and throws. */
export async function run(conn: SshConnection, command: string, opts: RunOptions): Promise<RunResult> {
  const start = Date.now();
  if (conn.closed) throw new PharosError(`ssh ${conn.label}: the connection is closed`);
  if (opts.signal?.aborted) throw new PharosError(`interrupted before running on ${conn.label}`, { exitCode: 130 });
  const wrapped = `printf '${PID_MARK}%s\\n' "$$" >&2; ${command}`;
  let ch: ClientChannel;
  try {
    ch = await execChannel(conn.client, wrapped);
  } catch (e) {
    throw new PharosError(`ssh ${conn.label}: cannot start command: ${(e as Error).message}`);
  }
  return new Promise<RunResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let pid: number | undefined;
    let pidSeen = false;
    const onLine = opts.onLine;
    const splitters = onLine && {
      stdout: new LineSplitter((l) => onLine(l, 'stdout')),
      stderr: new LineSplitter((l) => onLine(l, 'stderr')),
    };
    let done = false;

    const emit = (stream: 'stdout' | 'stderr', text: string): void => {
      if (stream === 'stdout') stdout += text;
      else stderr += text;
      splitters?.[stream].push(text);
    };
    let errHead = '';
    ch.on('data', (c: Buffer) => emit('stdout', c.toString('utf8')));
    ch.stderr.on('data', (c: Buffer) => {
      let text = c.toString('utf8');
      if (!pidSeen) {
        errHead += text;
        const nl = errHead.indexOf('\n');
        if (nl < 0) return;
        const first = errHead.slice(0, nl);
        text = errHead.slice(nl + 1);
        pidSeen = true;
        if (first.startsWith(PID_MARK)) pid = Number(first.slice(PID_MARK.length));
        else text = errHead;
      }
      if (text) emit('stderr', text);
    });

    const stop = async (why: PharosError): Promise<void> => {
      if (done) return;
      done = true;
      cleanup();
      try {
        ch.signal('KILL');
      } catch {
        /* not every server honours signal requests */
      }
      if (pid !== undefined) await killRemote(conn, pid);
      ch.close();
      reject(why);
    };
    const timer = setTimeout(() => {
      const secs = Math.round(opts.timeoutMs / 100) / 10;
      void stop(
        new SshTimeoutError(
          `timed out after ${secs} s waiting for ${opts.what ?? command} on ${conn.label}; the remote command was killed`,
          { problems: tail(stdout, stderr) },
        ),
      );
    }, opts.timeoutMs);
    const onAbort = (): void => void stop(new PharosError(`interrupted: ${opts.what ?? command} on ${conn.label}`, { exitCode: 130 }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    };

    let exitCode: number | undefined;
    let exitSignal: string | undefined;
    ch.on('exit', (code: number | null, signal?: string) => {
      if (code !== null && code !== undefined) exitCode = code;
      else exitSignal = signal;
    });
    ch.on('close', () => {
      if (done) return;
      done = true;
      cleanup();
      if (!pidSeen && errHead) emit('stderr', errHead);
      splitters?.stdout.flush();
      splitters?.stderr.flush();
      if (exitCode === undefined && exitSignal === undefined) {
        // No exit status at all: the connection died under the command.
        reject(
          new PharosError(`connection to ${conn.label} lost while running ${opts.what ?? command}`, {
            problems: tail(stdout, stderr),
          }),
        );
        return;
      }
      const code = exitCode ?? 128 + signalNumber(exitSignal ?? '');
      resolve({ code, stdout, stderr, durationMs: Date.now() - start });
    });
    ch.stdin.on('error', () => {
      /* the command may exit before reading its input */
    });
    if (opts.inputFile !== undefined) {
      const file = createReadStream(opts.inputFile);
      file.on('error', (e) => void stop(new PharosError(`cannot read ${opts.inputFile} for ${opts.what ?? command} on ${conn.label}: ${e.message}`)));
      file.pipe(ch);
    } else if (opts.input !== undefined) ch.end(opts.input);
    else ch.end();
  });
}

/** A remote command ran past its timeout and was killed. */
export class SshTimeoutError extends PharosError {
  override readonly name = 'SshTimeoutError';
}

function tail(stdout: string, stderr: string): { message: string }[] {
  const t = lastLines(`${stdout}${stderr}`, 10);
  return t ? [{ message: `last output:\n${t}` }] : [];
}

function signalNumber(name: string): number {
  const map: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, SEGV: 11, PIPE: 13, ALRM: 14, TERM: 15 };
  return map[name.replace(/^SIG/, '')] ?? 0;
}

export interface ScriptOptions extends Omit<RunOptions, 'input'> {
  args?: string[];
  env?: Record<string, string>;
}

/**
 * Run a local bash script on the node with `bash -s` so the guest needs no
 * files. The script is wrapped in one `{ … }` group: bash parses the whole
 * group before running any of it, so commands inside that read stdin (srun,
 * ssh) cannot swallow the rest of the script; they get /dev/null instead.
 * Environment variables are exported ahead of the group (sshd usually refuses
 * SSH `env` requests).
 */
export function runScript(conn: SshConnection, script: string, opts: ScriptOptions): Promise<RunResult> {
  const exports = Object.entries(opts.env ?? {})
    .map(([k, v]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new PharosError(`invalid environment variable name ${JSON.stringify(k)}`);
      return `export ${k}=${shellQuoteArg(v)}\n`;
    })
    .join('');
  const body = `${exports}{\n${script.replace(/\n?$/, '\n')}} </dev/null\n`;
  const command = shellQuote(['bash', '-s', '--', ...(opts.args ?? [])]);
  return run(conn, command, { ...opts, input: body });
}

