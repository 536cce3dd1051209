import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { generateTypes, readSchema, TYPES_PATH } from '../../../lib/config/gen-types.js';

test('lib/config/types.ts is what the generator makes from the schema (run: npx tsx lib/config/gen-types.ts)', () => {
  assert.fixture(readFileSync(TYPES_PATH, 'utf8'), generateTypes(readSchema()));
});

test('every object in the schema is closed (additionalProperties: false)', () => {
  const open: string[] = [];
  const walk = (s: unknown, where: string): void => {
    if (!s || typeof s !== 'object') return;
    if (Array.isArray(s)) return s.forEach((x, i) => walk(x, `${where}[${i}]`));
    const o = s as Record<string, unknown>;
    if (o['properties'] && o['additionalProperties'] !== false) open.push(where);
    for (const [k, v] of Object.entries(o)) if (k !== 'if') walk(v, `${where}/${k}`);
  };
  walk(readSchema(), '#');
  assert.equal(open, []);
});

test('generator: required vs optional, enums, refs, if/then/else unions', () => {
  const out = generateTypes({
    definitions: { a: { type: 'object', additionalProperties: false, properties: { x: { type: 'integer' }, y: { enum: ['p', 'q'] } }, required: ['x'] } },
    type: 'object',
    properties: { a: { $ref: '#/definitions/a' }, u: { type: 'object', if: { type: 'array' }, then: { type: 'array', items: { type: 'string' } }, else: { type: 'boolean' } } },
  });
  assert.match(out, 'export type A = {\n  x: number;\n  y?: "p" | "q";\n};');
  assert.match(out, 'a?: A;');
  assert.match(out, 'u?: string[] | boolean;');
});

test.run();
