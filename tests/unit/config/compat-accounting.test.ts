/**
 * ai-how's accounting keys → `slurm_config.accounting` (lib/config/compat-accounting.ts):
 * the switches and the sampling frequency are mapped, the database and
 * storage settings dropped with a warning that says why, a compute node's
 * switch dropped (accounting is per cluster), and `pharos migrate` writes the
 * mapped form. Proven on ai-how's own test-slurm-accounting.yaml.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigText } from '../../../lib/config/load.js';
import { migrateText } from '../../../lib/config/migrate.js';
import { planSystem } from '../../../lib/config/plan.js';
import { planText } from '../../../lib/config/render-plan.js';
import { PharosError, type ErrorDetail } from '../../../lib/errors.js';
import { samplesDir } from '../../fixtures/shared.js';
import { HOST } from './helpers.js';

const BASE = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'configs', 'valid-base.yaml'), 'utf8');
const REFERENCE = join(process.env['PHAROS_SAMPLES'] ?? samplesDir(), 'test-slurm-accounting.yaml');
const opts = { env: {}, host: HOST };
const load = (text: string, strict = false) => loadConfigText(text, 'c.yaml', { ...opts, strict });
const accountingOf = (text: string) => planSystem(load(text)).clusters.find((c) => c.kind === 'hpc')!.slurm!.accounting;

function replaced(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `not found: ${from}`);
  return text.replace(from, to);
}

/**
 * ai-how's file with only what it lacks to be placed at all (samples.json:
 * it has no network and no addresses, which no rewrite can invent); every
 * accounting key is left as ai-how wrote it.
 */
function placeable(src: string): string {
  let t = replaced(src, '    # Controller configuration\n', '    network:\n      subnet: "192.168.150.0/24"\n      bridge: "virbr150"\n    # Controller configuration\n');
  t = replaced(t, '      node_type: "controller"\n', '      node_type: "controller"\n      ip_address: "192.168.150.10"\n');
  t = t.replace(/node_type: "compute"\n/g, 'node_type: "compute"\n        ip: DHCP\n');
  // The empty-of-network cloud cluster goes: this test is about the HPC side.
  const cloud = t.indexOf('  # Cloud cluster');
  const networks = t.indexOf('# Network configuration');
  assert.ok(cloud > 0 && networks > cloud);
  return t.slice(0, cloud) + t.slice(networks);
}

const warning = (l: { compat: ErrorDetail[] }, field: string): ErrorDetail => {
  const w = l.compat.find((r) => r.field === field);
  if (!w) throw new Error(`no warning at ${field}; got ${l.compat.map((r) => r.field).join(', ')}`);
  return w;
};

test('test-slurm-accounting.yaml: accounting on, frequency kept, database/storage/gather dropped with why', () => {
  const src = readFileSync(REFERENCE, 'utf8');
  const text = placeable(src);
  const l = load(text);
  const acc = warning(l, 'clusters.hpc.controller.enable_accounting');
  assert.is(acc.line, 22);
  assert.match(acc.message, '`controller.enable_accounting: true` (line 22)');
  assert.match(acc.message, '`slurm_accounting.job_acct_gather_frequency: 30`');
  assert.match(acc.message, '→ `slurm_config.accounting: {enabled: true, job_acct_gather_frequency: 30}`');
  const db = warning(l, 'clusters.hpc.controller');
  assert.match(db.message, /`enable_database` \(line 23\), `database` \(line 26\): Pharos runs MariaDB on the controller with a database password generated per cluster/);
  const sa = warning(l, 'clusters.hpc.controller.slurm_accounting');
  assert.match(sa.message, '`storage_host` (line 36), `storage_port` (line 37): Pharos runs slurmdbd on the controller');
  assert.match(sa.message, '`job_acct_gather_type` (line 38), `job_acct_gather_params` (line 39): Pharos samples jobs with jobacct_gather/cgroup');
  const nodes = warning(l, 'clusters.hpc.compute_nodes[]');
  assert.match(nodes.message, '`enable_accounting` (lines 58, 74): accounting is per cluster');
  for (const r of l.compat) assert.not.match(r.message, 'not in Pharos yet');
  const p = planSystem(l, { env: {} }).clusters[0]!;
  assert.equal(p.slurm!.accounting, { enabled: true, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 });
  assert.match(planText(planSystem(l, { env: {} })), /\n  accounting     on: slurmdbd \+ MariaDB on the controller, account pharos, samples every 30s\n/);
});

test('test-slurm-accounting.yaml: pharos migrate writes slurm_config.accounting, which loads with no rewrite', () => {
  const m = migrateText(placeable(readFileSync(REFERENCE, 'utf8')), 'c.yaml', opts);
  assert.match(m.text, /\n    slurm_config:\n      partitions: \[ debug \]\n      default_partition: debug\n      accounting:\n        enabled: true\n        job_acct_gather_frequency: 30\n/);
  for (const k of ['enable_accounting', 'enable_database', 'database:', 'slurm_accounting', 'storage_host', 'password']) assert.not.match(m.text, k);
  const again = load(m.text);
  assert.equal(again.compat, []);
  assert.equal(planSystem(again).clusters[0]!.slurm!.accounting, { enabled: true, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 });
});

test('slurm_config switches: enable_accounting, accounting: true, accounting_storage_type slurmdbd', () => {
  const at = 'default_partition: "debug"';
  for (const extra of ['enable_accounting: true', 'accounting: true', 'accounting_storage_type: "accounting_storage/slurmdbd"']) {
    const text = replaced(BASE, at, `${at}\n      ${extra}`);
    assert.equal(accountingOf(text), { enabled: true, defaultAccount: 'pharos', jobAcctGatherFrequency: 30 }, extra);
    const w = load(text).compat;
    assert.is(w.length, 1, JSON.stringify(w));
    assert.is(w[0]!.rule, 'accounting');
    assert.is(w[0]!.line, 28);
  }
  // Off stays off, and says that nothing turned it on.
  const off = load(replaced(BASE, at, `${at}\n      enable_accounting: false`));
  assert.match(off.compat[0]!.message, '(nothing turned accounting on)');
  assert.is(planSystem(off).clusters[0]!.slurm!.accounting.enabled, false);
  // job_acct_gather_type and slurmdbd: dropped, saying why.
  const dropped = load(replaced(BASE, at, `${at}\n      job_acct_gather_type: "jobacct_gather/linux"\n      slurmdbd: {host: x}`));
  assert.match(dropped.compat.map((r) => r.message).join('\n'), /`job_acct_gather_type` \(line 28\): Pharos samples jobs with jobacct_gather\/cgroup.*; `slurmdbd` \(line 29\): Pharos runs slurmdbd on the controller/);
  assert.is(planSystem(dropped).clusters[0]!.slurm!.accounting.enabled, false);
});

test('the Pharos form wins over ai-how keys beside it; --strict rejects the ai-how keys', () => {
  const at = 'default_partition: "debug"';
  const text = replaced(BASE, at, `${at}\n      enable_accounting: false\n      accounting:\n        enabled: true\n        default_account: lab`);
  const l = load(text);
  assert.equal(l.compat.map((r) => [r.rule, r.message]), [['ignored', 'ignored `enable_accounting`: `slurm_config.accounting` is also given']]);
  assert.equal(planSystem(l).clusters[0]!.slurm!.accounting, { enabled: true, defaultAccount: 'lab', jobAcctGatherFrequency: 30 });
  try {
    load(replaced(BASE, at, `${at}\n      enable_accounting: true`), true);
    assert.unreachable('strict must reject');
  } catch (e) {
    assert.instance(e, PharosError);
    assert.match((e as PharosError).problems[0]!.message, '(--strict)');
  }
  assert.equal(load(replaced(BASE, at, `${at}\n      accounting:\n        enabled: true`), true).compat, [], 'the Pharos form is no rewrite');
});

test('a compute node\'s enable_accounting alone turns nothing on', () => {
  const l = load(replaced(BASE, 'ip: "10.9.0.11"', 'ip: "10.9.0.11"\n        enable_accounting: true'));
  assert.match(warning(l, 'clusters.hpc.compute_nodes[0]').message, '`enable_accounting`: accounting is per cluster: `slurm_config.accounting: {enabled: true}`');
  assert.is(planSystem(l).clusters[0]!.slurm!.accounting.enabled, false);
});

test.run();
