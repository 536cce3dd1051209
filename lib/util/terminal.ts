/**
 * Whether output to a stream may use escape sequences: colour, and a status
 * line redrawn in place. Only on a terminal, and not when `NO_COLOR` is set to
 * anything but "" (https://no-color.org) or `TERM=dumb` (a terminal without
 * cursor control: Emacs shells, some CI log viewers). Otherwise every
 * renderer writes plain lines, each once.
 */
export function styledOutput(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!stream.isTTY) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return env.TERM !== 'dumb';
}
