/**
 * The "Examples:" block of a main verb's `--help` (build, test, watch,
 * validate, cluster): command lines a newcomer can paste, each with what it does.
 */
export function examples(lines: ReadonlyArray<readonly [command: string, what: string]>): string {
  return `\nExamples:\n${lines.map(([c, w]) => `  $ ${c}\n      ${w}`).join('\n')}`;
}
