/**
 * Globs for target names (`pharos build 'image:*'`), in the shell's syntax:
 * `*` any run of characters, `?` one, `[abc]` / `[a-z]` one of a set
 * (`[!x]` or `[^x]` none of it; a `]` first in the set is literal) and
 * `{a,b}` alternatives. A `[` or `{` that is never closed is literal.
 */
import { PharosError } from '../errors.js';

/** True when a selector contains glob syntax. */
export function isGlob(s: string): boolean {
  return /[*?[\]{}]/.test(s);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** `[...]` starting at `i` (the `[`): the regex class and the index of its `]`, or undefined when unclosed. */
function bracket(pattern: string, i: number): { re: string; end: number } | undefined {
  let j = i + 1;
  const negate = pattern[j] === '!' || pattern[j] === '^';
  if (negate) j++;
  const first = j;
  let body = '';
  for (; j < pattern.length; j++) {
    const c = pattern[j]!;
    if (c === ']' && j > first) break;
    const next = pattern[j + 1];
    const hi = pattern[j + 2];
    if (next === '-' && hi !== undefined && hi !== ']') {
      if (hi < c) {
        throw new PharosError(`bad target glob "${pattern}": the range ${c}-${hi} is reversed`, { hint: `write [${hi}-${c}]`, exitCode: 2 });
      }
      body += `${escapeRe(c)}-${escapeRe(hi)}`;
      j += 2;
    } else body += escapeRe(c);
  }
  if (j >= pattern.length) return undefined;
  return { re: `[${negate ? '^' : ''}${body}]`, end: j };
}

/** The regular expression a target-name glob stands for (anchored at both ends). */
export function nameGlob(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const b = bracket(pattern, i);
      if (!b) re += '\\[';
      else {
        re += b.re;
        i = b.end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${pattern.slice(i + 1, end).split(',').map(escapeRe).join('|')})`;
        i = end;
      }
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}
