/**
 * ai-how's accounting keys → `slurm_config.accounting` (part of the
 * compatibility pass, compat.ts). ai-how's test configs switched accounting on
 * in three places: `enable_accounting` on the controller or in
 * `slurm_config`, `slurm_config.accounting: true`, and an
 * `accounting_storage/slurmdbd` storage type; `slurm_accounting.
 * job_acct_gather_frequency` is the one setting that keeps its meaning. The
 * rest says how to reach a database Pharos makes itself, so it is dropped with
 * a warning that says why: MariaDB runs on the controller with a password
 * generated per cluster, and jobs are sampled with jobacct_gather/cgroup.
 */
import { isMap, isScalar, type YAMLMap } from 'yaml';
import type { Path } from './rules.js';
import { find, insert, keys, mapAt, type Pass } from './compat-pass.js';

export const DB_REASON = 'Pharos runs MariaDB on the controller with a database password generated per cluster (never in the config or an image)';
export const STORAGE_REASON = 'Pharos runs slurmdbd on the controller (AccountingStorageType=accounting_storage/slurmdbd)';
export const GATHER_REASON = 'Pharos samples jobs with jobacct_gather/cgroup and sets its parameters itself';
const GIVEN = '`slurm_config.accounting` is also given';
const SLURMDBD = 'accounting_storage/slurmdbd';

interface Found {
  enabled?: boolean;
  frequency?: number;
  /** What was read, for the warning (`enable_accounting: true` (line 18)). */
  said: string[];
  /** Where the warning points: the first key read. */
  at?: { path: Path; node: unknown };
}

function scalarOf(map: YAMLMap, key: string): unknown {
  const v = find(map, key)?.value;
  return isScalar(v) ? v.value : undefined;
}

function note(pass: Pass, f: Found, map: YAMLMap, path: Path, key: string, text: string): void {
  const pair = find(map, key);
  const line = pass.pos(pair?.key).line;
  f.said.push(`\`${text}\`${line !== undefined ? ` (line ${line})` : ''}`);
  if (!f.at) f.at = { path: [...path, key], node: pair?.key };
  map.delete(key);
}

/** A switch: `true`/`false` turns accounting on or (if nothing else did) off. */
function flag(pass: Pass, f: Found, map: YAMLMap, path: Path, key: string, label = key): void {
  const v = scalarOf(map, key);
  if (typeof v !== 'boolean') return pass.ignore(map, path, key, 'not true or false');
  f.enabled = (f.enabled ?? false) || v;
  note(pass, f, map, path, key, `${label}: ${v}`);
}

function storageType(pass: Pass, f: Found, map: YAMLMap, path: Path, key: string, label: string): void {
  if (scalarOf(map, key) !== SLURMDBD) return pass.ignore(map, path, key, STORAGE_REASON);
  f.enabled = true;
  note(pass, f, map, path, key, `${label}: ${SLURMDBD}`);
}

function controllerKeys(pass: Pass, f: Found, ctrl: YAMLMap, path: Path, native: boolean): void {
  for (const k of ['enable_accounting', 'slurm_accounting']) if (native && find(ctrl, k)) pass.ignore(ctrl, path, k, GIVEN);
  if (find(ctrl, 'enable_accounting')) flag(pass, f, ctrl, path, 'enable_accounting', 'controller.enable_accounting');
  pass.ignore(ctrl, path, 'enable_database', DB_REASON);
  pass.ignore(ctrl, path, 'database', DB_REASON);
  const sa = mapAt(ctrl, 'slurm_accounting');
  if (!sa) return pass.ignore(ctrl, path, 'slurm_accounting', 'not a mapping');
  const sp: Path = [...path, 'slurm_accounting'];
  for (const k of keys(sa)) {
    if (k === 'job_acct_gather_frequency') {
      const v = scalarOf(sa, k);
      if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 3600) {
        f.frequency = v;
        note(pass, f, sa, sp, k, `slurm_accounting.${k}: ${v}`);
      } else pass.ignore(sa, sp, k, 'not a whole number of seconds from 1 to 3600');
    } else if (k === 'storage_type') storageType(pass, f, sa, sp, k, 'slurm_accounting.storage_type');
    else if (k.startsWith('job_acct_gather')) pass.ignore(sa, sp, k, GATHER_REASON);
    else if (k.startsWith('storage_')) pass.ignore(sa, sp, k, k === 'storage_pass' || k === 'storage_user' ? DB_REASON : STORAGE_REASON);
  }
  // Keys neither tool had stay, so the schema names them.
  if (sa.items.length === 0) ctrl.delete('slurm_accounting');
}

function slurmKeys(pass: Pass, f: Found, sc: YAMLMap, path: Path, native: boolean): void {
  if (native) {
    for (const k of ['enable_accounting', 'accounting_storage_type', 'job_acct_gather_type', 'slurmdbd']) pass.ignore(sc, path, k, GIVEN);
    return;
  }
  if (find(sc, 'enable_accounting')) flag(pass, f, sc, path, 'enable_accounting', 'slurm_config.enable_accounting');
  if (find(sc, 'accounting')) flag(pass, f, sc, path, 'accounting', 'slurm_config.accounting');
  if (find(sc, 'accounting_storage_type')) storageType(pass, f, sc, path, 'accounting_storage_type', 'slurm_config.accounting_storage_type');
  pass.ignore(sc, path, 'job_acct_gather_type', GATHER_REASON);
  pass.ignore(sc, path, 'slurmdbd', STORAGE_REASON);
}

/** Reads and removes ai-how's accounting keys of the HPC cluster `c`; call
 *  `place` once `slurm_config` exists. Compute nodes' keys are the node
 *  pass's (compat-keys.ts NODE_KEYS). */
export function collectAccounting(pass: Pass, c: YAMLMap, path: Path): { place: () => void } {
  const f: Found = { said: [] };
  const sc = mapAt(c, 'slurm_config');
  const native = sc !== undefined && isMap(find(sc, 'accounting')?.value);
  const ctrl = mapAt(c, 'controller');
  if (ctrl) controllerKeys(pass, f, ctrl, [...path, 'controller'], native);
  if (sc) slurmKeys(pass, f, sc, [...path, 'slurm_config'], native);
  return {
    place: () => {
      if (!f.at || native) return;
      const target = mapAt(c, 'slurm_config');
      if (!target) return;
      const value: Record<string, unknown> = { enabled: f.enabled ?? false };
      if (f.frequency !== undefined) value['job_acct_gather_frequency'] = f.frequency;
      insert(target, 'accounting', pass.doc.createNode(value));
      const shown = `{${Object.entries(value).map(([k, v]) => `${k}: ${String(v)}`).join(', ')}}`;
      pass.add(
        'accounting',
        f.at.path,
        f.at.node,
        `${f.said.join(', ')} → \`slurm_config.accounting: ${shown}\`: Pharos runs slurmdbd with MariaDB on the controller${f.enabled ? '' : ' (nothing turned accounting on)'}`,
      );
    },
  };
}
