/**
 * `pharos test quick`: every fast check, each test file in its own process so a
 * crash in one cannot hide the others, two at a time (this is a 2-core class of
 * machine). Ends with the plain `N passed, N failed` line CI reads.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { exec, ExecError } from '../tools/exec.js';

export interface QuickStep {
  name: string;
  cmd: string;
  args: string[];
  /** Parses a uvu summary; other steps count as one test. */
  uvu: boolean;
}

export interface QuickResult {
  step: string;
  ok: boolean;
  passed: number;
  failed: number;
  durationMs: number;
  output: string;
}

async function findTests(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findTests(p)));
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

/** Test tiers: `quick` (unit + integration against real tools, minutes) and
 *  `slow` (builds a real image from the Debian mirror and boots it). */
export type Tier = 'quick' | 'slow';

const TIER_DIRS: Record<Tier, string[]> = { quick: ['tests/unit', 'tests/integration'], slow: ['tests/slow'] };

export async function quickSteps(root: string, filter?: string, tier: Tier = 'quick'): Promise<QuickStep[]> {
  const files: string[] = [];
  for (const d of TIER_DIRS[tier]) files.push(...(await findTests(path.join(root, d))));
  const tsc: QuickStep[] = tier === 'quick' ? [
    { name: 'tsc --noEmit', cmd: process.execPath, args: [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], uvu: false },
  ] : [];
  const steps: QuickStep[] = [
    ...tsc,
    ...files.map((f) => ({
      name: path.relative(root, f),
      cmd: process.execPath,
      args: ['--import', 'tsx', f],
      uvu: true,
    })),
  ];
  return filter ? steps.filter((s) => s.name.includes(filter)) : steps;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

function parseUvu(out: string): { passed: number; failed: number } | undefined {
  const plain = out.replace(ANSI, '');
  const total = /Total:\s+(\d+)/.exec(plain);
  const passed = /Passed:\s+(\d+)/.exec(plain);
  if (!total || !passed) return undefined;
  const t = Number(total[1]);
  const p = Number(passed[1]);
  return { passed: p, failed: t - p };
}

export async function runQuick(
  root: string,
  opts: { filter?: string; jobs?: number; tier?: Tier; onResult?: (r: QuickResult) => void; signal?: AbortSignal },
): Promise<QuickResult[]> {
  const steps = await quickSteps(root, opts.filter, opts.tier);
  const results: QuickResult[] = [];
  let next = 0;
  const jobs = Math.max(1, opts.jobs ?? Math.min(2, os.cpus().length));
  const worker = async (): Promise<void> => {
    while (next < steps.length && !opts.signal?.aborted) {
      const s = steps[next++]!;
      const t0 = Date.now();
      let output = '';
      let ok = true;
      try {
        const r = await exec(s.cmd, s.args, {
          cwd: root,
          env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
          signal: opts.signal,
          timeoutMs: 15 * 60_000,
          timeoutWhat: s.name,
        });
        output = r.stdout + r.stderr;
      } catch (e) {
        ok = false;
        output = e instanceof ExecError ? e.stdout + e.stderr : String(e instanceof Error ? e.message : e);
      }
      const counts = s.uvu ? parseUvu(output) : undefined;
      const res: QuickResult = {
        step: s.name,
        ok: ok && (counts ? counts.failed === 0 : true),
        passed: counts ? counts.passed : ok ? 1 : 0,
        failed: counts ? counts.failed || (ok ? 0 : 1) : ok ? 0 : 1,
        durationMs: Date.now() - t0,
        output,
      };
      if (s.uvu && !counts) {
        // A test file that printed no summary crashed before or while running.
        res.ok = false;
        res.failed = Math.max(1, res.failed);
      }
      results.push(res);
      opts.onResult?.(res);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}
