import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandString } from '../../../lib/config/expand.js';
import { closest, editDistance } from '../../../lib/config/hints.js';
import { inSubnet, isHostAddress, parseSubnet, subnetsOverlap } from '../../../lib/config/ip.js';

test('expandString: shell-style forms', () => {
  const v = { A: 'x', EMPTY: '' };
  assert.equal(expandString('${A}/y', v), { value: 'x/y', unset: [], malformed: [] });
  assert.is(expandString('${B:-dflt}', v).value, 'dflt');
  assert.is(expandString('${EMPTY:-dflt}', v).value, 'dflt');
  assert.is(expandString('${EMPTY}', v).value, '');
  assert.is(expandString('${B:-}', v).value, '');
  assert.is(expandString('$$A and $${A}', v).value, '$A and ${A}');
  assert.is(expandString('cost $5', v).value, 'cost $5');
  assert.equal(expandString('${B}${C}', v).unset, ['B', 'C']);
  assert.equal(expandString('${1X}', v).malformed, ['${1X}']);
  assert.equal(expandString('${A', v).malformed, ['${A']);
});

test('edit distance and suggestions', () => {
  assert.is(editDistance('memroy_gb', 'memory_gb'), 1);
  assert.is(editDistance('cpu_core', 'cpu_cores'), 1);
  assert.is(closest('memroy_gb', ['cpu_cores', 'memory_gb', 'disk_gb']), 'memory_gb');
  assert.is(closest('gpu', ['ip', 'cpu_cores']), undefined);
  assert.is(closest('image_path', ['base_image_path', 'ip']), 'base_image_path');
  assert.is(closest('workers', ['worker_nodes', 'name']), 'worker_nodes');
  assert.is(closest('zzzzzz', ['memory_gb']), undefined);
});

test('subnet arithmetic', () => {
  const s = parseSubnet('192.168.100.0/24');
  assert.ok(inSubnet('192.168.100.255', s));
  assert.not.ok(isHostAddress('192.168.100.255', s));
  assert.not.ok(isHostAddress('192.168.100.0', s));
  assert.ok(isHostAddress('192.168.100.1', s));
  assert.not.ok(inSubnet('192.168.101.1', s));
  assert.ok(parseSubnet('10.0.0.5/24').hostBitsSet);
  assert.ok(subnetsOverlap(parseSubnet('10.0.0.0/16'), parseSubnet('10.0.5.0/24')));
  assert.not.ok(subnetsOverlap(parseSubnet('10.0.0.0/24'), parseSubnet('10.0.1.0/24')));
});

test.run();
