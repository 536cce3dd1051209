/**
 * POSIX shell quoting: a word of only safe characters stays bare, anything
 * else (the empty string included) is single-quoted with `'` written as `'\''`.
 * Used for commands sent to a remote shell and for command lines shown to a
 * person ("re-run with"), which then paste into a shell unchanged.
 */

const SAFE = /^[\w@%+=:,./-]+$/;

/** One word, quoted for a POSIX shell. */
export function shellQuoteArg(s: string): string {
  return SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line (argv), each word quoted, joined by spaces. */
export function shellQuote(args: readonly string[]): string {
  return args.map(shellQuoteArg).join(' ');
}

/**
 * A value as OpenSSH reads it (ssh_config lines and `-o NAME=VALUE`): bare when
 * it holds no whitespace, quote or backslash, else double-quoted with `"` and
 * `\` escaped (ssh_config(5): arguments may be enclosed in double quotes).
 */
export function sshConfigValue(v: string): string {
  return /[\s"'\\]/.test(v) ? `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"` : v;
}
