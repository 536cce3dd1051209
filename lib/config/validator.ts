/**
 * The cluster config's schema validator (Ajv). Compiling the schema costs
 * about half a second, paid by every command that loads the config; so
 * scripts/compile.mjs also writes it ahead as Ajv standalone code
 * (`standaloneValidator`), and a process running compiled (lib/util/runtime.ts)
 * uses that file while it was made from this schema text and this Ajv version.
 * Same options, same schema, same code: the same answers and error objects.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import * as formatsNs from 'ajv-formats';
import { runtime } from '../util/runtime.js';

/** Where the standalone validator lies under dist/. */
export const STANDALONE_FILE = join('lib', 'config', 'schema-validator.cjs');

type AddFormats = (ajv: Ajv, formats?: string[]) => Ajv;
type StandaloneCode = (ajv: Ajv, v: ValidateFunction) => string;

let schemaText: string | undefined;
let schemaJson: Record<string, unknown> | undefined;
let validator: ValidateFunction | undefined;

function text(file: string): string {
  schemaText ??= readFileSync(file, 'utf8');
  return schemaText;
}

export function loadSchema(file: string): Record<string, unknown> {
  schemaJson ??= JSON.parse(text(file)) as Record<string, unknown>;
  return schemaJson;
}

function newAjv(extra: Options = {}): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, verbose: true, ...extra });
  const mod = formatsNs as unknown as { default: AddFormats | { default: AddFormats } };
  const addFormats: AddFormats = typeof mod.default === 'function' ? mod.default : mod.default.default;
  addFormats(ajv, ['ipv4', 'uri']);
  return ajv;
}

/** What a standalone validator must have been made from: the schema text and the Ajv version. */
function stamp(file: string): string {
  const req = createRequire(file);
  const { version } = req('ajv/package.json') as { version: string };
  return `${createHash('sha256').update(text(file)).digest('hex')} ajv ${version}`;
}

/** The standalone validator written ahead into dist/, when this process runs compiled and it fits. */
function ahead(file: string): ValidateFunction | undefined {
  const rt = runtime();
  if (!rt?.compiled) return undefined;
  try {
    const m = createRequire(file)(join(rt.root, 'dist', STANDALONE_FILE)) as { default?: ValidateFunction; made?: string };
    return m.made === stamp(file) && typeof m.default === 'function' ? m.default : undefined;
  } catch {
    return undefined;
  }
}

/** The validator of the schema in `file` (one per process). */
export function getValidator(file: string): ValidateFunction {
  validator ??= ahead(file) ?? newAjv().compile(loadSchema(file));
  return validator;
}

/** Ajv standalone code (CommonJS) of the validator, stamped with what it was made from. */
export async function standaloneValidator(file: string): Promise<string> {
  const mod = createRequire(file)('ajv/dist/standalone') as { default: StandaloneCode | { default: StandaloneCode } };
  const standaloneCode: StandaloneCode = typeof mod.default === 'function' ? mod.default : mod.default.default;
  const ajv = newAjv({ code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(loadSchema(file)));
  return `${code}\nmodule.exports.made = ${JSON.stringify(stamp(file))};\n`;
}
