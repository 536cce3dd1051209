/** One XML escape for libvirt XML and JUnit: a parser reads back the text given. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { xmlEscape } from '../../../lib/util/xml.js';

test('markup characters are escaped, forbidden characters made visible, numbers taken', () => {
  assert.is(xmlEscape(`a<b>&"c"'d'`), 'a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;');
  assert.is(xmlEscape('bell\u0007 esc\u001b tab\t'), 'bell\\x07 esc\\x1b tab\t');
  assert.is(xmlEscape(2048), '2048');
  assert.is(xmlEscape('ünï 😀'), 'ünï 😀');
});

test('an XML parser (python3, which Ansible needs anyway) reads escaped content and attributes back as given', () => {
  const text = `it's <"x"> & y`;
  const doc = `<r a="${xmlEscape(text)}">${xmlEscape(text)}</r>`;
  const py = 'import sys, xml.etree.ElementTree as E; r = E.fromstring(sys.stdin.read()); print(r.get("a") + "|" + r.text)';
  const out = execFileSync('python3', ['-c', py], { input: doc, encoding: 'utf8' });
  assert.is(out.trim(), `${text}|${text}`);
});

test.run();
