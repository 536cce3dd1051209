/**
 * The one way Pharos runs an external program: an argument array (never a shell
 * line built from config strings), output streamed line by line to a sink (the
 * target's log), cancellation through an AbortSignal (SIGTERM to the child's
 * process group, SIGKILL after a grace period) and failures turned into a
 * `PharosError` that names the command and shows the tail of its output.
 */
import { spawn } from 'node:child_process';
import { PharosError } from '../errors.js';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
  /** Called for every complete line of stdout and stderr. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Milliseconds; the error names `timeoutWhat` (or the command). */
  timeoutMs?: number;
  timeoutWhat?: string;
  /** Exit codes that are not failures (default: only 0). */
  okCodes?: number[];
  /** Milliseconds between SIGTERM and SIGKILL on cancel or timeout. */
  killGraceMs?: number;
  /** Debian package that provides the program, for the "not found" hint. */
  pkg?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every live child, so a Ctrl-C handler can terminate them all. */
const live = new Set<number>();

export function liveChildren(): number[] {
  return [...live];
}

export function killProcessGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** How a command line is shown to a person (for "re-run with" hints). */
export function shellQuote(args: readonly string[]): string {
  return args
    .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new PharosError(`interrupted before running ${cmd}`, { exitCode: 130 }));
      return;
    }
    const child = spawn(cmd, args as string[], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    const partial = { stdout: '', stderr: '' };
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const grace = opts.killGraceMs ?? 5000;
    const terminate = (): void => {
      if (child.pid === undefined) return;
      killProcessGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => child.pid !== undefined && killProcessGroup(child.pid, 'SIGKILL'), grace);
      killTimer.unref();
    };
    const onAbort = (): void => {
      aborted = true;
      terminate();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, opts.timeoutMs)
        : undefined;
    if (child.pid !== undefined) live.add(child.pid);

    const feed = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      if (stream === 'stdout') stdout += text;
      else stderr += text;
      if (!opts.onLine) return;
      const buf = partial[stream] + text;
      const lines = buf.split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l, stream);
    };
    child.stdout.on('data', (c: Buffer) => feed('stdout', c));
    child.stderr.on('data', (c: Buffer) => feed('stderr', c));
    child.stdin.on('error', () => {
      /* the child may exit before reading its input */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();

    const finish = (): void => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.pid !== undefined) live.delete(child.pid);
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      finish();
      if (err.code === 'ENOENT') {
        reject(
          new PharosError(`${cmd}: command not found`, {
            hint: opts.pkg
              ? `install it: apt-get install ${opts.pkg} (or run \`pharos build host:packages\`)`
              : `install ${cmd} or put it on PATH`,
            exitCode: 127,
          }),
        );
      } else reject(new PharosError(`${cmd}: ${err.message}`));
    });
    child.on('close', (code, sig) => {
      finish();
      if (opts.onLine) {
        if (partial.stdout) opts.onLine(partial.stdout, 'stdout');
        if (partial.stderr) opts.onLine(partial.stderr, 'stderr');
      }
      const line = shellQuote([cmd, ...args]);
      if (aborted) {
        reject(new PharosError(`interrupted: ${line}`, { exitCode: 130 }));
        return;
      }
      if (timedOut) {
        reject(
          new PharosError(`timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s waiting for ${opts.timeoutWhat ?? line}`),
        );
        return;
      }
      const rc = code ?? (sig ? 128 : 1);
      if (!(opts.okCodes ?? [0]).includes(rc)) {
        const tail = (stderr.trim() || stdout.trim()).split('\n').slice(-15).join('\n');
        reject(
          new ExecError(`command failed (exit ${sig ?? rc}): ${line}${tail ? `\n${tail}` : ''}`, {
            code: rc,
            stdout,
            stderr,
            command: line,
          }),
        );
        return;
      }
      resolve({ code: rc, stdout, stderr });
    });
  });
}

/** A command that ran and exited with a failing status. */
export class ExecError extends PharosError {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly command: string;
  constructor(message: string, r: { code: number; stdout: string; stderr: string; command: string }) {
    super(message);
    this.code = r.code;
    this.stdout = r.stdout;
    this.stderr = r.stderr;
    this.command = r.command;
  }
}

/** Whether a program is on PATH (no shell involved). */
export async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = `${dir}/${cmd}`;
    try {
      const { access, constants } = await import('node:fs/promises');
      await access(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}
