/**
 * Real libvirtd: GPU ownership refusal, the NAT network, forced stop of a guest
 * that ignores ACPI, leftovers found by prefix and metadata (another cluster's VM
 * and an unrecorded network spared),
 * and the `pharos cluster|vm` commands against that state.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import * as virsh from '../../../lib/tools/virsh.js';
import { exec } from '../../../lib/tools/exec.js';
import { domainXml } from '../../../lib/libvirt/domain.js';
import {
  buildDomainSpec,
  claimGpus,
  destroyCluster,
  ensureNetwork,
  removeNetwork,
  startCluster,
  startVm,
  stopDomain,
  waitForSsh,
} from '../../../lib/cluster/ops.js';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { readGpuOwners } from '../../../lib/cluster/state.js';
import { cleanup, envFor, imagesFor, leftovers, sandbox, tinyPlan, waitForText, URI, type Sandbox } from './helpers.js';

let sb: Sandbox;
test.before(async () => {
  sb = await sandbox();
});
test.after(async () => {
  await cleanup(sb);
});

const FAKE_GPU = '0000:fe:00.0';

test('vm start refuses a VM whose GPU a running VM owns, naming it', async () => {
  const plan = tinyPlan(sb, { nodes: 2 });
  const holder = plan.nodes[0]!;
  const wanter = plan.nodes[1]!;
  wanter.autoStart = false; // defined, not started (auto_start: false)
  wanter.pcie = [{ address: FAKE_GPU, deviceType: 'gpu', vendorId: '10de', deviceId: '2805' }];
  const env = envFor(sb, plan);
  const rep = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 120_000, hostKeyTimeoutMs: 60_000 });
  assert.equal(rep.vms.map((v) => v.started), [true, false]);
  assert.is(await virsh.domain.state(URI, wanter.name), 'shut off', 'auto_start: false defines but does not start');
  // the running holder owns the (pretend) GPU
  await claimGpus(holder.name, plan.name, URI, [FAKE_GPU], sb.stateRoot);
  const err = await startVm(sb.stateRoot, wanter.name).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'must refuse');
  assert.match(err!.message, `PCI device ${FAKE_GPU} is in use by running VM ${holder.name}`);
  assert.is(await virsh.domain.state(URI, wanter.name), 'shut off');
  // the same through the CLI
  const cli = await exec('node', [fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url)), 'vm', 'start', wanter.shortName === 'compute-01' ? wanter.name : wanter.name], {
    env: { ...process.env, PHAROS_STATE_DIR: sb.stateRoot, PHAROS_DATA_DIR: sb.dataRoot },
    okCodes: [0, 1],
  });
  assert.is(cli.code, 1);
  assert.match(cli.stderr, `in use by running VM ${holder.name}`);
  assert.not.match(cli.stderr, '    at ', 'no stack trace');

  // CLI status / stop against the state
  const run = (args: string[], okCodes = [0]) =>
    exec('node', [fileURLToPath(new URL('../../../bin/pharos.js', import.meta.url)), ...args], {
      env: { ...process.env, PHAROS_STATE_DIR: sb.stateRoot, PHAROS_DATA_DIR: sb.dataRoot },
      okCodes,
    });
  // one VM running, one shut off: status says "partial" and exits 4 (documented in its --help)
  const status = await run(['--json', 'cluster', 'status', '--cluster', plan.name], [4]);
  assert.is(status.code, 4);
  const st = JSON.parse(status.stdout) as { state: string; vms: { name: string; state: string }[] };
  assert.is(st.state, 'partial');
  assert.equal(st.vms.map((v) => [v.name, v.state]), [
    [holder.name, 'running'],
    [wanter.name, 'shut off'],
  ]);
  const vs = JSON.parse((await run(['--json', 'vm', 'status', holder.name])).stdout) as { state: string; sshPort: number };
  assert.is(vs.state, 'running');
  const stop = await run(['vm', 'stop', holder.name, '--timeout', '60']);
  assert.match(stop.stdout, `${holder.name}: shutdown`);
  assert.equal(await readGpuOwners(sb.stateRoot), {}, 'stopping releases the GPU');
  const d = await run(['cluster', 'destroy', plan.name, '--yes']);
  assert.match(d.stdout, `domain ${holder.name}`);
  assert.equal(await leftovers(plan.name), []);
  const again = await run(['cluster', 'destroy', plan.name, '--yes']);
  assert.match(again.stdout, 'nothing to remove');
});

test('nat network: fixed DHCP hosts; unchanged on re-run; redefined when an IP changes', async () => {
  const plan = tinyPlan(sb, { nodes: 2, mode: 'nat' });
  const env = envFor(sb, plan);
  try {
    assert.is((await ensureNetwork(plan, env)).action, 'created');
    const xml = await virsh.network.dumpxml(URI, plan.network.libvirtName);
    assert.match(xml, "<forward mode='nat'");
    assert.match(xml, `<host mac='${plan.nodes[1]!.mac}' name='compute-01' ip='${plan.nodes[1]!.ip}'/>`);
    assert.match(xml, `address='${plan.network.gateway}'`);
    assert.ok(await virsh.network.isActive(URI, plan.network.libvirtName));
    assert.is((await ensureNetwork(plan, env)).action, 'unchanged');
    plan.nodes[1]!.ip = plan.nodes[1]!.ip.replace(/\.\d+$/, '.77');
    assert.is((await ensureNetwork(plan, env)).action, 'redefined');
    assert.match(await virsh.network.dumpxml(URI, plan.network.libvirtName), `ip='${plan.nodes[1]!.ip}'`);
    await virsh.network.destroy(URI, plan.network.libvirtName);
    assert.is((await ensureNetwork(plan, env)).action, 'started');
  } finally {
    await removeNetwork(URI, plan.network.libvirtName);
  }
  assert.equal(await leftovers(plan.network.libvirtName), []);
});

test('stop presses the power button again when the guest was not listening yet', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  const env = envFor(sb, plan);
  await startCluster(plan, imagesFor(sb, plan, 'pharos.acpilate'), env, { sshTimeoutMs: 120_000, hostKeyTimeoutMs: 60_000 });
  const vm = plan.nodes[0]!;
  await waitForText(`${env.paths.consoleDir}/${vm.name}.log`, 'PHAROS-GUEST-READY', 60_000);
  // the first press comes before the guest listens (10 s after ready); the next one, 15 s on, is heard
  const r = await stopDomain(URI, vm.name, { timeoutMs: 60_000 });
  assert.is(r.action, 'shutdown');
  await waitForText(`${env.paths.consoleDir}/${vm.name}.log`, 'PHAROS-POWEROFF', 10_000);
  await destroyCluster(plan.name, env);
  assert.equal(await leftovers(plan.name), []);
});

test('stop forces power-off when the guest ignores ACPI; destroy finds its own leftovers by prefix and metadata, spares the rest', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  const env = envFor(sb, plan);
  await startCluster(plan, imagesFor(sb, plan, 'pharos.noacpi'), env, { sshTimeoutMs: 120_000, hostKeyTimeoutMs: 60_000 });
  const vm = plan.nodes[0]!;
  await waitForText(`${env.paths.consoleDir}/${vm.name}.log`, 'PHAROS-IGNORING-ACPI', 60_000);
  const r = await stopDomain(URI, vm.name, { timeoutMs: 2000 });
  assert.is(r.action, 'forced');
  assert.is(await virsh.domain.state(URI, vm.name), 'shut off');
  assert.is((await stopDomain(URI, vm.name)).action, 'already-stopped');

  // a stray domain and network with the cluster's prefix, not in state
  const stray = { ...plan, nodes: [{ ...vm, name: `${plan.name}-stray` }] };
  const spec = buildDomainSpec(stray, env, { node: stray.nodes[0]!, image: imagesFor(sb, plan)[vm.name]!, disk: `${env.paths.poolDir}/${vm.name}.qcow2`, sshPort: 22999, authorizedKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyFakeKeyFakeKeyFakeKeyFakeKeyFakeKey x' });
  await virsh.domain.define(URI, domainXml(spec));
  await virsh.network.define(URI, `<network><name>${plan.name}-stray-net</name><bridge name='pht${sb.id}s'/></network>`);
  // a VM of another cluster whose name shares the prefix: metadata says so
  const otherSpec = { ...spec, name: `${plan.name}-x-other`, cluster: `${plan.name}-x` };
  await virsh.domain.define(URI, domainXml(otherSpec));
  try {
    const d = await destroyCluster(plan.name, env);
    // a domain with this cluster's metadata is its own, even when state forgot it
    assert.ok(d.domains.includes(`${plan.name}-stray`));
    assert.ok(d.domains.includes(vm.name));
    assert.not.ok(d.domains.includes(`${plan.name}-x-other`));
    // a network the state does not record is not the cluster's
    assert.not.ok(d.networks.includes(`${plan.name}-stray-net`));
    assert.equal(d.leftAlone.sort(), [`domain ${plan.name}-x-other: cluster ${plan.name}-x's`, `network ${plan.name}-stray-net: not created by pharos`]);
    assert.equal(await leftovers(plan.name), [`domain ${plan.name}-x-other`, `network ${plan.name}-stray-net`]);
  } finally {
    await virsh.domain.undefine(URI, `${plan.name}-x-other`).catch(() => undefined);
    await virsh.network.undefine(URI, `${plan.name}-stray-net`).catch(() => undefined);
  }
});

test('QEMU user-net hostfwd accepts TCP before the guest is up: readiness reads the banner', async () => {
  const plan = tinyPlan(sb, { nodes: 1 });
  const env = envFor(sb, plan);
  const rep = await startCluster(plan, imagesFor(sb, plan), env, { waitSsh: false, pinHostKeys: false });
  const port = rep.vms[0]!.sshPort;
  // QEMU listens as soon as it runs, long before the guest kernel has booted.
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
  const log = readFileSync(`${env.paths.consoleDir}/${plan.nodes[0]!.name}.log`, 'utf8');
  assert.not.match(log, 'PHAROS-GUEST-READY', 'the guest was not up yet when the port accepted');
  const w = await waitForSsh('127.0.0.1', port, 120_000);
  assert.is(w.banner, 'SSH-2.0-PharosTestGuest');
  await destroyCluster(plan.name, env);
});

test.run();
