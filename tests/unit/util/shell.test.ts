/** One POSIX shell quoting: what it quotes, sh reads back as the same words. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { shellQuote, shellQuoteArg } from '../../../lib/util/shell.js';

test('safe words stay bare, others are single-quoted', () => {
  assert.is(shellQuoteArg('ansible-playbook'), 'ansible-playbook');
  assert.is(shellQuoteArg('ANSIBLE_CONFIG=/a/b.cfg'), 'ANSIBLE_CONFIG=/a/b.cfg');
  assert.is(shellQuoteArg(''), "''");
  assert.is(shellQuoteArg('a b'), "'a b'");
  assert.is(shellQuoteArg("it's"), "'it'\\''s'");
  assert.is(shellQuote(['echo', 'a b', '$HOME']), "echo 'a b' '$HOME'");
});

test('sh splits a quoted command line back into exactly the words given', () => {
  const words = ['', 'plain', 'two words', "it's", '$(id) `id` $HOME', 'a\nb', '*', '"dq"', '\\', '-n'];
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${shellQuote(words)}`], { encoding: 'utf8' });
  assert.equal(out.split('\0').slice(0, -1), words);
});

test.run();
