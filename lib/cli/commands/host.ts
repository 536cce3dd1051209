/** Host commands: `doctor` and `inventory pcie`. */
import type { Command } from 'commander';
import { PharosError } from '../../errors.js';
import type { SystemPlan } from '../../model.js';
import type { DoctorReport } from '../../host/doctor.js';
import { resolveConfigPath, type ConfigGlobals } from './config.js';

interface HostFlags {
  sysRoot?: string;
  procRoot?: string;
}

/** `--sys-root`/`--proc-root`: read another tree than /sys and /proc (fake trees in tests, a chroot). */
function rootsOf(o: HostFlags): { sysRoot?: string; procRoot?: string } {
  const r: { sysRoot?: string; procRoot?: string } = {};
  if (o.sysRoot) r.sysRoot = o.sysRoot;
  if (o.procRoot) r.procRoot = o.procRoot;
  return r;
}

async function kvmCacheFile(g: ConfigGlobals & { root?: string }): Promise<string | undefined> {
  const { findRootSync } = await import('../root.js');
  try {
    const { join } = await import('node:path');
    return join(findRootSync(g.root), '.pharos', 'kvm-probe.json');
  } catch {
    return undefined;
  }
}

/** The plan of the config, or why there is none (doctor still checks the host). */
async function tryPlan(arg: string | undefined, g: ConfigGlobals): Promise<{ plan?: SystemPlan; error?: PharosError }> {
  const path = await resolveConfigPath(arg, g);
  const { loadConfig } = await import('../../config/load.js');
  const { planSystem } = await import('../../config/plan.js');
  try {
    const { noteCompat } = await import('../config-warnings.js');
    return { plan: planSystem(noteCompat(await loadConfig(path))) };
  } catch (e) {
    if (e instanceof PharosError) return { error: e };
    throw e;
  }
}

/** What `pharos doctor --json` prints (also `pharos export logs`'s doctor.json). */
export async function doctorReport(config: string | undefined, g: ConfigGlobals & { root?: string }, o: HostFlags = {}): Promise<DoctorReport> {
  const { plan, error } = await tryPlan(config, g);
  const { runDoctor } = await import('../../host/doctor.js');
  const cache = await kvmCacheFile(g);
  const report = await runDoctor(plan, { ...rootsOf(o), ...(cache ? { kvmCacheFile: cache } : {}) });
  if (error) {
    report.ok = false;
    report.checks.unshift({ id: 'config', title: 'config', status: 'fail', detail: error.message, remediation: 'run `pharos validate` for the list of problems' });
  }
  return report;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the host: tools, libvirtd, KVM (boots a test guest), memory, disk, PCI passthrough')
    .argument('[config]', 'cluster YAML whose needs are checked (default: -c, $PHAROS_CONFIG, config/local.yaml)')
    .option('--sys-root <dir>', 'read sysfs from DIR instead of /sys')
    .option('--proc-root <dir>', 'read procfs from DIR instead of /proc')
    .action(async (config: string | undefined, o: HostFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<ConfigGlobals & { root?: string }>();
      const { formatDoctor } = await import('../../host/doctor.js');
      const report = await doctorReport(config, g, o);
      process.stdout.write(g.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctor(report)}\n`);
      if (!report.ok) process.exitCode = 1;
    });

  const inventory = program.commands.find((c) => c.name() === 'inventory') ?? program.command('inventory').description('host and cluster inventories');
  inventory
    .command('pcie')
    .description('host PCI devices: ids, class, driver, IOMMU group, vfio binding, conflicts with the config')
    .argument('[config]', 'cluster YAML whose passthrough devices are matched (default: -c, $PHAROS_CONFIG, config/local.yaml)')
    .option('--sys-root <dir>', 'read sysfs from DIR instead of /sys')
    .action(async (config: string | undefined, o: HostFlags, cmd: Command) => {
      const g = cmd.optsWithGlobals<ConfigGlobals>();
      const { plan } = await tryPlan(config, g);
      const { pciInventory } = await import('../../host/pcie.js');
      const rows = await pciInventory(rootsOf(o), plan);
      if (g.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const { table } = await import('../../config/render-plan.js');
      process.stdout.write(
        `${table(
          ['address', 'id', 'class', 'driver', 'group', 'vfio', 'assigned', 'conflicts'],
          rows.map((r) => [
            r.address,
            r.vendorId ? `${r.vendorId}:${r.deviceId}` : '-',
            r.className,
            r.driver ?? '-',
            r.iommuGroup === undefined ? '-' : String(r.iommuGroup),
            r.vfioBound ? 'yes' : 'no',
            r.assignedTo.join(',') || '-',
            r.conflicts.join('; ') || '-',
          ]),
        )}\n`,
      );
    });
}
