/**
 * `preload:<cluster>:<image>`: a container image Pharos built
 * (`image:container:<name>`, an OCI archive in the machine cache) imported into
 * containerd on every running node of a cloud cluster, offline: the archive is
 * streamed over SSH into `ctr images import` (namespace `k8s.io`, where the
 * kubelet's CRI looks), so nothing is pulled from a registry. The cloud
 * cluster has no registry of its own, and its nodes reach no mirror.
 *
 * A node whose containerd already holds the image under the same manifest
 * digest is left alone. The image is named `docker.io/pharos/<name>:latest`
 * there (the OCI archive's `latest` tag under that base name).
 */
import { target, type Target } from '../lib/index.js';
import { recordPreload, type PreloadOut } from '../lib/suites/preloads.js';
import { PharosError } from '../lib/errors.js';
import { run, type SshConnection } from '../lib/tools/ssh.js';
import { withRootSession } from '../lib/ssh/session.js';
import { shellQuote } from '../lib/util/shell.js';
import type { ClusterTargets, KeysOut, VmOut } from './vms.js';
import type { DeployOut } from './deploy.js';
import type { ContainerImageOut } from './containers.js';

/** containerd's namespace for the kubelet's images. */
export const K8S_NAMESPACE = 'k8s.io';

export { preloadEnv, type PreloadOut } from '../lib/suites/preloads.js';

export function preloadRef(name: string): string {
  return `docker.io/pharos/${name}:latest`;
}

/** The manifest digest containerd has for `ref` on a node, or undefined. */
async function heldDigest(conn: SshConnection, ref: string): Promise<string | undefined> {
  const r = await run(conn, shellQuote(['ctr', '-n', K8S_NAMESPACE, 'images', 'ls', `name==${ref}`]), { timeoutMs: 60_000, what: 'ctr images ls' });
  if (r.code !== 0) throw new PharosError(`ctr images ls failed on ${conn.label}: ${(r.stderr || r.stdout).trim()}`, { hint: 'is containerd running? pharos ssh NODE systemctl status containerd' });
  // REF TYPE DIGEST SIZE PLATFORMS LABELS
  const line = r.stdout.split('\n').find((l) => l.startsWith(`${ref} `));
  return line?.split(/\s+/)[2];
}

async function importOn(v: VmOut, keys: KeysOut, img: ContainerImageOut, ref: string, log: (l: string) => void, signal?: AbortSignal): Promise<void> {
  await withRootSession(v, keys, async (conn) => {
    if ((await heldDigest(conn, ref)) === img.manifestDigest) {
      log(`${v.shortName}: containerd already holds ${ref} (${img.manifestDigest})`);
      return;
    }
    const base = ref.replace(/:latest$/, '');
    const r = await run(conn, shellQuote(['ctr', '-n', K8S_NAMESPACE, 'images', 'import', '--base-name', base, '-']), {
      inputFile: img.archive,
      timeoutMs: 30 * 60_000,
      what: `ctr images import of ${img.name}`,
      signal,
      onLine: (l) => log(`${v.shortName}: ${l}`),
    });
    if (r.code !== 0) throw new PharosError(`ctr images import of ${img.name} failed on ${v.shortName} (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    const got = await heldDigest(conn, ref);
    if (got !== img.manifestDigest) {
      throw new PharosError(`after the import, containerd on ${v.shortName} has ${ref} at ${got ?? 'no digest'}, not ${img.manifestDigest}`, { hint: 'the archive and the cache record disagree: pharos build image:container:' + img.name });
    }
    log(`${v.shortName}: imported ${ref} (${img.manifestDigest})`);
  }, { signal });
}

/** One target per image the cloud cluster preloads (`kubernetes_config.preload_images`). */
export function preloadTargets(ct: ClusterTargets, images: ReadonlyMap<string, Target<ContainerImageOut>>, runtime: Target<DeployOut>): Target<PreloadOut>[] {
  const plan = ct.plan;
  const out: Target<PreloadOut>[] = [];
  for (const name of plan.kubernetes?.preloadImages ?? []) {
    const image = images.get(name);
    if (!image) {
      throw new PharosError(`clusters.cloud.kubernetes_config.preload_images names "${name}", which is not a container image`, {
        hint: `container images are the directories under containers/: ${[...images.keys()].join(', ') || 'none'}`,
        exitCode: 2,
      });
    }
    const vmDeps: Record<string, Target<unknown>> = {};
    for (const [n, t] of ct.vms) vmDeps[n] = t;
    const ref = preloadRef(name);
    out.push(
      target<PreloadOut, Record<string, Target<unknown>>>({
        name: `preload:${plan.name}:${name}`,
        description: `container image ${name} imported into containerd on every node of ${plan.name} (offline, over SSH)`,
        deps: { image, runtime, keys: ct.keys, ...vmDeps },
        params: { name, ref, namespace: K8S_NAMESPACE },
        run: async (ctx) => {
          const img = ctx.deps.image as ContainerImageOut;
          const keys = ctx.deps.keys as KeysOut;
          const vms = [...ct.vms.keys()].map((n) => ctx.deps[n] as VmOut).filter((v) => v.running);
          ctx.phase(`importing on ${vms.length} node${vms.length === 1 ? '' : 's'}`);
          await Promise.all(vms.map((v) => importOn(v, keys, img, ref, ctx.log, ctx.signal)));
          const done: PreloadOut = { image: name, ref, digest: img.manifestDigest, nodes: vms.map((v) => v.shortName).sort() };
          // For the suites run outside the graph (pharos test run-test).
          await recordPreload(ctx.stateDir, plan.name, done);
          return done;
        },
      }),
    );
  }
  return out;
}
