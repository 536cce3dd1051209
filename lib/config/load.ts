/**
 * Reads a cluster config: YAML with source positions, the ai-how
 * compatibility pass (compat.ts: one warning per rewrite, errors under
 * `strict`), variable expansion, schema validation (ajv, draft-07, closed objects, real ipv4 checks) and the
 * cross-field rules. Every problem found is reported at once in one
 * `PharosError`, each with file:line:column, the field, what was expected and a
 * hint. Host-fit findings are warnings, returned rather than thrown.
 */
import { readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ErrorObject } from 'ajv';
import { PharosError, type ErrorDetail } from '../errors.js';
import type { ClusterConfig } from './types.js';
import { expandDocument } from './expand.js';
import { getValidator, loadSchema as loadSchemaFile } from './validator.js';
import { checkAliases } from './aliases.js';
import { closest } from './hints.js';
import { checkRules, fieldPath, type HostCapacity, type Locator, type Path } from './rules.js';
import { applyCompat, strictDetail, type CompatRewrite } from './compat.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_FILE = join(REPO_ROOT, 'schemas', 'cluster.schema.json');
export const DEFAULT_CONFIG = join(REPO_ROOT, 'config', 'local.yaml');

export interface LoadedConfig {
  /** Absolute path of the file. */
  path: string;
  /** Repository root used for `${TOT}`. */
  root: string;
  /** The config after variable expansion, validated. */
  config: ClusterConfig;
  /** Non-fatal findings (host capacity, device order). */
  warnings: ErrorDetail[];
  /** What the ai-how compatibility pass rewrote (compat.ts), one entry per rewrite. */
  compat: CompatRewrite[];
  /** The expanded document as YAML text (what `pharos render` prints). */
  rendered: string;
  /** Source position of a field (the plan's checks of the files the config names use it). */
  locate?: Locator;
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Repository root, the value of `${TOT}` (default: this checkout). */
  root?: string;
  /** Host capacity for the warnings (default: this machine). */
  host?: HostCapacity;
  /** Reject ai-how forms instead of rewriting them (`--strict`). */
  strict?: boolean;
}

/** The parsed schema (lib/config/validator.ts). */
export function loadSchema(): Record<string, unknown> {
  return loadSchemaFile(SCHEMA_FILE);
}

/** Position of the node at `path` (or of its key), falling back to the deepest node found. */
export function makeLocator(doc: Document, lc: LineCounter) {
  return (path: Path, opts: { key?: boolean } = {}): { line?: number; column?: number } => {
    let node: unknown = doc.contents;
    let keyNode: unknown;
    let last: unknown = node;
    for (const seg of path) {
      keyNode = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        keyNode = pair.key;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
      } else break;
      if (node === undefined || node === null) {
        node = keyNode;
        last = node ?? last;
        break;
      }
      last = node;
    }
    const target = (opts.key && keyNode ? keyNode : last) as Node | undefined;
    const off = target?.range?.[0];
    if (off === undefined) return {};
    const p = lc.linePos(off);
    return { line: p.line, column: p.col };
  };
}

function decodePath(instancePath: string): Path {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function show(v: unknown): string {
  // A string with control characters is shown escaped, so a line break cannot fake a line of the report.
  const s = typeof v === 'string' ? (/\p{C}/u.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  return `the ${typeof v} ${show(v)}`;
}

const NODE_GROUP_KEYS = new Set(['compute_nodes', 'worker_nodes']);

/** Turns ajv's errors into located, readable details. */
export function schemaDetails(errs: ErrorObject[], file: string, locate: ReturnType<typeof makeLocator>): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  // Paths where an anyOf failed: its branch errors are noise; one message says it.
  const anyOfPaths = new Set(errs.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  // The old grouped worker form `{cpu: [...], gpu: [...]}`: one message, not a dozen.
  const grouped = new Set(
    errs
      .filter((e) => e.keyword === 'additionalProperties')
      .filter((e) => {
        const p = decodePath(e.instancePath);
        const ap = (e.params as { additionalProperty?: string }).additionalProperty;
        return NODE_GROUP_KEYS.has(String(p[p.length - 1])) && (ap === 'cpu' || ap === 'gpu');
      })
      .map((e) => e.instancePath),
  );
  for (const g of grouped) {
    const path = decodePath(g);
    out.push({
      file,
      ...locate(path),
      field: fieldPath(path),
      message: 'the grouped form `{cpu: [...], gpu: [...]}` is not part of the format',
      expected: 'a list of nodes, or a template `{count, ip: DHCP, cpu_cores, memory_gb, disk_gb}`',
      hint: `put every node of \`cpu\` and \`gpu\` into one list under ${String(path[path.length - 1])}; a node with a GPU passed through becomes a gpu-worker`,
    });
  }
  for (const e of errs) {
    if (e.keyword === 'if') continue;
    if (grouped.has(e.instancePath)) continue;
    if (anyOfPaths.has(e.instancePath) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    const path = decodePath(e.instancePath);
    const field = fieldPath(path);
    const base = { file, field };
    const ps = e.parentSchema as Record<string, unknown> | undefined;
    const desc = typeof ps?.['description'] === 'string' ? (ps['description'] as string) : undefined;
    switch (e.keyword) {
      case 'additionalProperties': {
        const prop = (e.params as { additionalProperty: string }).additionalProperty;
        const allowed = Object.keys((ps?.['properties'] as Record<string, unknown> | undefined) ?? {});
        const guess = closest(prop, allowed);
        const sub = [...path, prop];
        out.push({
          ...base,
          ...locate(sub, { key: true }),
          field: fieldPath(sub),
          message: `unknown field \`${prop}\``,
          expected: allowed.length ? `one of: ${allowed.join(', ')}` : 'no fields here',
          hint: guess ? `did you mean \`${guess}\`?` : undefined,
        });
        break;
      }
      case 'required': {
        const prop = (e.params as { missingProperty: string }).missingProperty;
        const allowed = Object.keys((ps?.['properties'] as Record<string, unknown> | undefined) ?? {});
        const present = e.data && typeof e.data === 'object' ? Object.keys(e.data as object).filter((k) => !allowed.includes(k)) : [];
        const near = present.find((k) => k.startsWith(`${prop}_`) || k.endsWith(`_${prop}`) || closest(k, [prop]) !== undefined);
        out.push({
          ...base,
          ...locate(path, { key: true }),
          message: `missing required field \`${prop}\``,
          field: fieldPath([...path, prop]),
          hint: near ? `found \`${near}\`: rename it to \`${prop}\`` : undefined,
        });
        break;
      }
      case 'type': {
        const t = (e.params as { type: string | string[] }).type;
        const want = Array.isArray(t) ? t.join(' or ') : t;
        out.push({ ...base, ...locate(path), message: `wrong type: got ${typeOf(e.data)}`, expected: want === 'integer' ? 'an integer' : `${want}` });
        break;
      }
      case 'format': {
        const ipv4 = (e.params as { format: string }).format === 'ipv4';
        out.push({
          ...base,
          ...locate(path),
          message: `\`${show(e.data)}\` is not a valid ${ipv4 ? 'IPv4 address' : 'URL'}`,
          expected: ipv4 ? 'four numbers 0-255 separated by dots, e.g. 192.168.100.10' : (desc ?? 'a URL'),
        });
        break;
      }
      case 'anyOf':
      case 'oneOf': {
        const branches = (ps?.[e.keyword] as Record<string, unknown>[] | undefined) ?? [];
        const ipOrDhcp = branches.some((b) => b['format'] === 'ipv4');
        out.push({
          ...base,
          ...locate(path),
          message: ipOrDhcp ? `\`${show(e.data)}\` is not a valid IPv4 address (nor DHCP)` : `\`${show(e.data)}\` is not accepted here`,
          expected: ipOrDhcp ? 'four numbers 0-255 separated by dots, or DHCP' : (desc ?? 'one of the allowed forms'),
        });
        break;
      }
      case 'enum':
      case 'const': {
        const allowed = e.keyword === 'enum' ? ((e.params as { allowedValues: unknown[] }).allowedValues ?? []) : [(e.params as { allowedValue: unknown }).allowedValue];
        const guess = typeof e.data === 'string' ? closest(e.data, allowed.map(String)) : undefined;
        const inTemplate = path[path.length - 1] === 'ip' && NODE_GROUP_KEYS.has(String(path[path.length - 2]));
        out.push({
          ...base,
          ...locate(path),
          message: `\`${show(e.data)}\` is not allowed`,
          expected: `one of: ${allowed.map(String).join(', ')}`,
          hint: inTemplate
            ? 'a {count, ...} template gives its nodes consecutive addresses from subnet+11; to choose addresses, write the nodes as a list'
            : guess
              ? `did you mean \`${guess}\`?`
              : undefined,
        });
        break;
      }
      case 'pattern':
        out.push({
          ...base,
          ...locate(path),
          message: `\`${show(e.data)}\` is not in the expected form`,
          expected: desc ?? `a string matching ${(e.params as { pattern: string }).pattern}`,
          hint:
            path[path.length - 1] === 'pci_address' && typeof e.data === 'string' && /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/i.test(e.data)
              ? `did you mean \`0000:${e.data.toLowerCase()}\`? (the PCI domain is part of the address)`
              : undefined,
        });
        break;
      case 'minItems':
        out.push({ ...base, ...locate(path), message: `the list is too short`, expected: `at least ${(e.params as { limit: number }).limit} item(s)` });
        break;
      case 'maxItems':
        out.push({ ...base, ...locate(path), message: `the list has ${Array.isArray(e.data) ? e.data.length : 'too many'} items`, expected: `at most ${(e.params as { limit: number }).limit}`, hint: desc });
        break;
      case 'minimum':
      case 'maximum':
        // The schema's description says what the bound is for.
        out.push({ ...base, ...locate(path), message: `${show(e.data)} is out of range`, expected: `${e.keyword === 'minimum' ? 'at least' : 'at most'} ${(e.params as { limit: number }).limit}`, hint: desc });
        break;
      case 'minProperties':
        out.push({ ...base, ...locate(path), message: 'nothing defined here', expected: `at least ${(e.params as { limit: number }).limit} entry (e.g. hpc)` });
        break;
      default:
        out.push({ ...base, ...locate(path), message: `${show(e.data)}: ${e.message ?? e.keyword}` });
    }
  }
  return out;
}

function sortDetails(d: ErrorDetail[]): ErrorDetail[] {
  const seen = new Set<string>();
  return d
    .filter((x) => {
      const k = `${x.line}:${x.column}:${x.field}:${x.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function fail(file: string, details: ErrorDetail[]): never {
  const n = details.length;
  throw new PharosError(`${file}: ${n} problem${n === 1 ? '' : 's'} in the cluster config`, {
    problems: sortDetails(details),
    exitCode: 2,
  });
}

export function hostCapacity(): HostCapacity {
  return { cpus: cpus().length, memoryMiB: Math.floor(totalmem() / 1024 / 1024) };
}

/** Parses, expands and validates config text (no file access). */
export function loadConfigText(text: string | Buffer, file: string, opts: LoadOptions = {}): LoadedConfig {
  const root = opts.root ?? REPO_ROOT;
  const buf = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  // Binary input: a NUL byte or invalid UTF-8 means this is not a YAML text file.
  const nul = buf.indexOf(0);
  let source: string;
  try {
    source = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    source = '';
  }
  if (nul >= 0 || (buf.length > 0 && source === '')) {
    fail(file, [
      {
        file,
        message: `not a text file (binary data${nul >= 0 ? ` at byte ${nul}` : ', invalid UTF-8'})`,
        expected: 'a YAML cluster config',
        hint: 'check the path: is this an image or an archive?',
      },
    ]);
  }
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length) {
    // After the first syntax error the parser mostly reports its consequences: show the first few.
    fail(
      file,
      doc.errors.slice(0, 3).map((e) => ({
        file,
        line: e.linePos?.[0].line,
        column: e.linePos?.[0].col,
        message: `YAML syntax: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        hint: e.code === 'DUPLICATE_KEY' ? 'a key may appear only once in a mapping; remove or rename one' : undefined,
      })),
    );
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    fail(file, [{ file, line: 1, column: 1, message: 'the config file is empty', expected: 'a mapping with version, metadata and clusters', hint: 'start from config/local.yaml' }]);
  }
  if (!isMap(doc.contents)) {
    const p = lc.linePos(doc.contents.range?.[0] ?? 0);
    fail(file, [{ file, line: p.line, column: p.col, message: 'the top level is not a mapping', expected: 'a mapping with version, metadata and clusters' }]);
  }
  // ai-how forms → Pharos's, before expansion so `pharos migrate` keeps ${VAR}s.
  const compat = applyCompat(doc, lc, file);
  if (opts.strict && compat.length) fail(file, compat.map(strictDetail));
  const env = opts.env ?? process.env;
  const vars: Record<string, string | undefined> = { ...env, TOT: env['TOT'] ?? root };
  const expandErrors = expandDocument(doc, vars, file, lc, source);
  if (expandErrors.length) fail(file, expandErrors);

  const aliasErrors = checkAliases(doc, file, lc);
  if (aliasErrors.length) fail(file, aliasErrors);
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e) {
    // checkAliases() stops every alias problem the yaml library knows of; this is the net under it.
    fail(file, [{ file, line: 1, column: 1, message: `YAML: ${(e as Error).message}`, hint: 'check the anchors (&name) and aliases (*name) in the file' }]);
  }
  const validate = getValidator(SCHEMA_FILE);
  const locate = makeLocator(doc, lc);
  if (!validate(data)) fail(file, schemaDetails(validate.errors ?? [], file, locate));
  const config = data as ClusterConfig;
  const rules = checkRules(config, file, locate, opts.host ?? hostCapacity());
  if (rules.errors.length) fail(file, rules.errors);
  return { path: file, root, config, warnings: sortDetails(rules.warnings), compat, rendered: doc.toString(), locate };
}

/** Reads and validates a cluster config file. Throws one PharosError listing every problem. */
export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  const abs = resolve(path);
  let buf: Buffer;
  try {
    buf = await readFile(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new PharosError(`cannot read config ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String((e as Error).message)}`, {
      hint: 'pass an existing YAML file, e.g. config/local.yaml',
      exitCode: 2,
    });
  }
  return loadConfigText(buf, abs, opts);
}
