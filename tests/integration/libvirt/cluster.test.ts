/**
 * Real libvirtd (qemu:///system), real TCG guests: a 3-VM user-mode cluster is
 * started to SSH readiness, converged again (nothing changes), repaired after a
 * hand-deleted domain, redefined and restarted after a spec change, stopped gracefully, and
 * destroyed without leftovers; a failed start rolls back completely.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import * as virsh from '../../../lib/tools/virsh.js';
import * as qemuImg from '../../../lib/tools/qemu-img.js';
import { probeDomains } from '../../../lib/libvirt/probe.js';
import { readState } from '../../../lib/cluster/state.js';
import { clusterStatus, destroyCluster, probeCluster, startCluster, stopCluster } from '../../../lib/cluster/ops.js';
import { cleanup, envFor, imagesFor, leftovers, sandbox, tinyPlan, waitForText, type Sandbox } from './helpers.js';

let sb: Sandbox;
const timings: string[] = [];

test.before(async () => {
  sb = await sandbox();
});
test.after(async () => {
  await cleanup(sb);
  if (timings.length) console.log(`\n  timings: ${timings.join('; ')}`);
});

test('3-VM user-mode cluster: start to SSH-ready, converge, repair, redefine, stop, destroy', async () => {
  const plan = tinyPlan(sb, { nodes: 3 });
  const tl = Date.now();
  const env = envFor(sb, plan, process.env.PHAROS_TEST_VERBOSE ? (l) => console.log(`  [${((Date.now() - tl) / 1000).toFixed(1)}s] ${l}`) : undefined);
  const t0 = Date.now();
  const rep = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 180_000, hostKeyTimeoutMs: 60_000 });
  timings.push(`start 3 VMs to SSH-ready ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(rep.network.action, 'created');
  assert.is(rep.pool.action, 'created');
  assert.equal(rep.vms.map((v) => v.domain), ['created', 'created', 'created']);
  timings.push(...rep.vms.map((v) => `${v.name.replace(plan.name + '-', '')} SSH-ready at ${((v.sshReadyMs ?? 0) / 1000).toFixed(1)} s`));
  assert.ok(rep.vms.every((v) => v.started && v.sshReadyMs !== undefined));

  // state: unique ports, UUIDs, disks on the base image
  const state = (await readState(env.paths.stateFile))!;
  const ports = Object.values(state.vms).map((v) => v.sshPort);
  assert.is(new Set(ports).size, 3);
  for (const v of Object.values(state.vms)) {
    assert.match(v.uuid ?? '', /^[0-9a-f-]{36}$/);
    const info = await qemuImg.info(v.disk);
    assert.is(info.backingFilename, sb.guest.base);
    assert.is(info.virtualSize, 1024 ** 3);
    // the guest got its config through fw_cfg and configured its cluster NIC
    const log = await waitForText(v.consoleLog, 'PHAROS-GUEST-READY', 60_000);
    assert.match(log, `cluster_ip=${v.ip}/24`);
    assert.match(log, `PHAROS-CLUSTER-UP`);
    assert.match(log, 'ssh_authorized_key=ssh-ed25519 ');
  }
  // host keys pinned from the console, under the forwarded port
  const kh = readFileSync(env.paths.knownHosts, 'utf8');
  const [, hostKeyB64] = sb.guest.hostKeyPub.split(' ');
  for (const v of Object.values(state.vms)) assert.match(kh, `[127.0.0.1]:${v.sshPort},${v.name} ssh-ed25519 ${hostKeyB64}`);

  // the batched probe: everything up to date, in one virsh call
  const tp = Date.now();
  const pr = await probeCluster(plan, imagesFor(sb, plan), env);
  timings.push(`probe of 3 VMs + network + pool ${Date.now() - tp} ms`);
  assert.ok(pr.network.active && pr.pool.active);
  assert.equal([...pr.vms.values()].map((v) => v.upToDate), [true, true, true]);

  // second run: nothing to do
  const again = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 60_000 });
  assert.equal(again.vms.map((v) => [v.domain, v.disk, v.started]), [
    ['unchanged', 'unchanged', false],
    ['unchanged', 'unchanged', false],
    ['unchanged', 'unchanged', false],
  ]);
  const state2 = (await readState(env.paths.stateFile))!;
  assert.equal(Object.values(state2.vms).map((v) => v.sshPort), ports, 'ports stable across runs');

  // hand-deleted domain is recreated and started
  const victim = plan.nodes[1]!.name;
  await virsh.domain.destroy(env.uri, victim);
  await virsh.domain.undefine(env.uri, victim);
  assert.equal([...(await probeCluster(plan, imagesFor(sb, plan), env)).vms.values()].map((v) => v.upToDate), [true, false, true]);
  const repaired = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 120_000, hostKeyTimeoutMs: 60_000 });
  assert.is(repaired.vms[1]!.domain, 'created');
  assert.ok(repaired.vms[1]!.started);
  assert.is(repaired.vms[0]!.domain, 'unchanged');

  // spec change on a running VM: redefined, restarted to apply it, and said so
  plan.nodes[2]!.memoryMiB = 320;
  const changed = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 120_000, hostKeyTimeoutMs: 60_000 });
  assert.is(changed.vms[2]!.domain, 'redefined');
  assert.ok(changed.vms[2]!.restarted, 'a running VM on an old definition is restarted');
  assert.not.ok(changed.vms[2]!.restartNeeded);
  assert.match(changed.vms[2]!.message, 'restarted');
  assert.equal(changed.vms.map((v) => v.restarted), [false, false, true], 'only the changed VM restarts');
  const probe = (await probeDomains(env.uri, [plan.nodes[2]!.name])).domains.get(plan.nodes[2]!.name)!;
  assert.is(probe.specHash, changed.vms[2]!.specHash, 'persistent definition carries the new hash');
  assert.is(probe.liveSpecHash, changed.vms[2]!.specHash, 'the running VM runs the new one');
  assert.ok((await probeCluster(plan, imagesFor(sb, plan), env)).vms.get(plan.nodes[2]!.name)!.upToDate);
  // the next run has nothing left to do
  const still = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 60_000 });
  assert.equal(still.vms.map((v) => [v.domain, v.restarted, v.restartNeeded, v.started]), [
    ['unchanged', false, false, false],
    ['unchanged', false, false, false],
    ['unchanged', false, false, false],
  ]);

  // a new image for a running VM: stopped, overlay recreated on it, started again
  const base2 = sb.guest.base.replace(/base\.qcow2$/, 'base2.qcow2');
  await qemuImg.create(base2, 64 * 1024 * 1024);
  const imgs = imagesFor(sb, plan);
  imgs[plan.nodes[0]!.name]!.image = base2;
  const moved = await startCluster(plan, imgs, env, { sshTimeoutMs: 120_000, hostKeyTimeoutMs: 60_000 });
  assert.is(moved.vms[0]!.disk, 'recreated');
  assert.ok(moved.vms[0]!.started);
  assert.ok(moved.vms[0]!.restarted);
  assert.match(moved.vms[0]!.message, 'disk was recreated');
  const movedDisk = (await readState(env.paths.stateFile))!.vms[plan.nodes[0]!.name]!.disk;
  assert.is((await qemuImg.info(movedDisk)).backingFilename, base2);

  const st = await clusterStatus(plan.name, env);
  assert.equal(st.vms.map((v) => v.state), ['running', 'running', 'running']);

  // graceful stop (the guest powers off on the ACPI button)
  const t1 = Date.now();
  const stop = await stopCluster(plan.name, env, { timeoutMs: 60_000 });
  timings.push(`graceful stop of 3 VMs ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  assert.equal(stop.vms.map((v) => v.action), ['shutdown', 'shutdown', 'shutdown']);

  // destroy: nothing left, and again is a no-op
  const d = await destroyCluster(plan.name, env);
  assert.is(d.domains.length, 3);
  assert.equal(d.networks, [plan.network.libvirtName]);
  assert.equal(await leftovers(plan.name), []);
  assert.not.ok(existsSync(env.paths.poolDir), 'pool dir removed');
  assert.not.ok(existsSync(env.paths.stateDir), 'state removed');
  const d2 = await destroyCluster(plan.name, env);
  assert.equal(d2, { domains: [], networks: [], pools: [], files: [], leftAlone: [] });
});

test('a failed start (second VM cannot start) rolls back everything it created', async () => {
  const plan = tinyPlan(sb, { nodes: 2 });
  // A PCI device that does not exist: defining works, starting fails in libvirt.
  plan.nodes[1]!.pcie = [{ address: '0000:fe:1f.7', deviceType: 'other', vendorId: 'ffff', deviceId: 'ffff' }];
  const env = envFor(sb, plan);
  const err = await startCluster(plan, imagesFor(sb, plan), env, { sshTimeoutMs: 60_000 }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.ok(err, 'start must fail');
  assert.match(err!.message, plan.nodes[1]!.name);
  assert.equal(await leftovers(plan.name), []);
  assert.not.ok(existsSync(env.paths.poolDir), 'overlays and pool dir removed');
  assert.not.ok(existsSync(env.paths.stateDir), 'no state, no keys');
});

test('an injected failure before the second definition rolls back the first', async () => {
  const plan = tinyPlan(sb, { nodes: 2 });
  const env = envFor(sb, plan);
  const err = await startCluster(plan, imagesFor(sb, plan), env, {
    beforeDefine: (_n, i) => {
      if (i === 1) throw new Error('injected failure');
    },
  }).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  assert.match(err?.message ?? '', 'injected failure');
  assert.equal(await leftovers(plan.name), []);
  assert.not.ok(existsSync(env.paths.stateDir));
});

test.run();
