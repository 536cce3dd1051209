/**
 * The one way Pharos runs an external program: an argument array (never a shell
 * line built from config strings), output streamed line by line to a sink (the
 * target's log), cancellation through an AbortSignal (SIGTERM to the child's
 * process group, SIGKILL after a grace period) and failures turned into a
 * `PharosError` that names the command and shows the tail of its output.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { PharosError } from '../errors.js';
import { LineSplitter, lastLines } from '../util/lines.js';
import { shellQuote } from '../util/shell.js';

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
  /**
   * Characters of stdout and of stderr kept in the result (default 16 Mi):
   * beyond it only the tail is kept and `dropped` counts the rest. `onLine`
   * (the target's log) still sees everything.
   */
  keepChars?: number;
  /**
   * Opens a third pipe as the child's file descriptor 3 and calls this for
   * every complete line written to it: a structured side channel (Ansible's
   * event callback) that never mixes with the output a person reads.
   */
  onFd3Line?: (line: string) => void;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Characters cut from the front of stdout / stderr to keep them within `keepChars`. */
  dropped?: { stdout: number; stderr: number };
}

const DEFAULT_KEEP = 16 * 1024 * 1024;
/** A line longer than this is passed to `onLine` in pieces (a child writing without newlines). */
const MAX_LINE = 1024 * 1024;

/**
 * One output stream: a decoder that keeps a multibyte character split across
 * two reads whole, and the kept tail.
 */
class StreamText {
  private readonly dec = new StringDecoder('utf8');
  text = '';
  dropped = 0;
  constructor(private readonly keep: number) {}
  /** Decoded text of the chunk (possibly '' while a character is incomplete). */
  push(chunk: Buffer | undefined): string {
    const t = chunk ? this.dec.write(chunk) : this.dec.end();
    if (!t) return t;
    this.text += t;
    if (this.text.length > this.keep * 2) this.trim();
    return t;
  }
  /** Keeps the last `keep` characters (amortised: trimmed when twice over). */
  trim(): void {
    if (this.text.length <= this.keep) return;
    const cut = this.text.length - this.keep;
    this.dropped += cut;
    this.text = this.text.slice(cut);
  }
}

/** Every live child, so a Ctrl-C handler can terminate them all. */
const live = new Set<number>();

export function liveChildren(): number[] {
  return [...live];
}

/** Told of every child's process group (each child leads its own): the engine's record of them. */
export interface ChildObserver {
  /** Marks the children's environment (`PHAROS_RUN`), so a later run can tell them from others. */
  readonly run: string;
  spawned(pid: number, cmd: string): void;
  exited(pid: number): void;
}

/** Environment variable naming the pharos run(s) a child belongs to. */
export const RUN_ENV = 'PHAROS_RUN';

const observers = new Set<ChildObserver>();

/** Adds an observer until the returned function is called. */
export function observeChildren(o: ChildObserver): () => void {
  observers.add(o);
  return () => void observers.delete(o);
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

export function exec(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new PharosError(`interrupted before running ${cmd}`, { exitCode: 130 }));
      return;
    }
    const baseEnv = opts.env ?? process.env;
    const runs = [...observers].map((o) => o.run).join(',');
    const child = spawn(cmd, args as string[], {
      cwd: opts.cwd,
      env: runs ? { ...baseEnv, [RUN_ENV]: runs } : baseEnv,
      stdio: opts.onFd3Line ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const fd3 = opts.onFd3Line ? child.stdio[3] : null;
    if (fd3 && opts.onFd3Line) {
      const onFd3 = opts.onFd3Line;
      const dec = new StringDecoder('utf8');
      let partial = '';
      const take = (t: string): void => {
        const lines = (partial + t).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) onFd3(l);
      };
      fd3.on('data', (c: Buffer) => take(dec.write(c)));
      fd3.on('end', () => {
        take(dec.end());
        if (partial) onFd3(partial);
        partial = '';
      });
      fd3.on('error', () => {
        /* the child closed it early */
      });
    }
    const keep = opts.keepChars ?? DEFAULT_KEEP;
    const streams = { stdout: new StreamText(keep), stderr: new StreamText(keep) };
    const onLine = opts.onLine;
    const splitters = onLine && {
      stdout: new LineSplitter((l) => onLine(l, 'stdout'), MAX_LINE),
      stderr: new LineSplitter((l) => onLine(l, 'stderr'), MAX_LINE),
    };
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
    const pid = child.pid;
    if (pid !== undefined) {
      live.add(pid);
      for (const o of observers) o.spawned(pid, shellQuote([cmd, ...args]));
    }

    const feed = (stream: 'stdout' | 'stderr', chunk: Buffer | undefined): void => {
      const text = streams[stream].push(chunk);
      splitters?.[stream].push(text);
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
      if (pid !== undefined && live.delete(pid)) for (const o of observers) o.exited(pid);
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
      feed('stdout', undefined);
      feed('stderr', undefined);
      splitters?.stdout.flush();
      splitters?.stderr.flush();
      streams.stdout.trim();
      streams.stderr.trim();
      const stdout = streams.stdout.text;
      const stderr = streams.stderr.text;
      const dropped = streams.stdout.dropped || streams.stderr.dropped ? { stdout: streams.stdout.dropped, stderr: streams.stderr.dropped } : undefined;
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
        const tail = lastLines(stderr.trim() || stdout, 15);
        const cut = dropped ? `\n(${dropped.stdout + dropped.stderr} earlier characters of output not kept in memory; the target's log has them)` : '';
        reject(
          new ExecError(`command failed (exit ${sig ?? rc}): ${line}${tail ? `\n${tail}` : ''}${cut}`, {
            code: rc,
            stdout,
            stderr,
            command: line,
          }),
        );
        return;
      }
      resolve(dropped ? { code: rc, stdout, stderr, dropped } : { code: rc, stdout, stderr });
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

export { which } from '../util/which.js';
