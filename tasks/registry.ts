/**
 * `push:<cluster>:<image>`: a container image (`image:container:<name>`, an
 * OCI archive in the machine cache) copied by skopeo into the registry on the
 * cluster's controller, through an SSH tunnel (lib/ssh/tunnel.ts) since the
 * registry listens on the isolated cluster network only. The image keeps its
 * manifest digest (--preserve-digests), so the reference the suites and users
 * pull, `<controller-ip>:<port>/pharos/<name>@sha256:…`, names exactly what
 * was built. A registry that already holds that manifest is left alone.
 */
import { target, type Target } from '../lib/index.js';
import { PharosError } from '../lib/errors.js';
import { withRootSession } from '../lib/ssh/session.js';
import { exec } from '../lib/tools/exec.js';
import { openTunnel } from '../lib/ssh/tunnel.js';
import type { ClusterTargets, KeysOut, VmOut } from './vms.js';
import type { DeployOut } from './deploy.js';
import type { ContainerImageOut } from './containers.js';
import { recordPush, type PushedImage } from '../lib/suites/images.js';

export type PushOut = PushedImage;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Polls `GET /v2/` until the registry answers 200 (or the time is up). */
async function waitForRegistry(base: string, what: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const r = await fetch(`${base}/v2/`, { signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(signal ? [signal] : [])]) });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      if (signal?.aborted) throw e;
      last = (e as Error).message;
    }
    if (Date.now() > until) {
      throw new PharosError(`the registry ${what} did not answer within ${Math.round(timeoutMs / 1000)} s (${last})`, {
        hint: 'is docker-registry running on the controller? pharos ssh controller systemctl status docker-registry',
      });
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function hasManifest(base: string, repo: string, digest: string): Promise<boolean> {
  const r = await fetch(`${base}/v2/${repo}/manifests/${digest}`, { method: 'HEAD', headers: { accept: OCI_MANIFEST }, signal: AbortSignal.timeout(30_000) });
  return r.status === 200;
}

export function pushTargets(
  ct: ClusterTargets,
  images: ReadonlyMap<string, Target<ContainerImageOut>>,
  registryDeploy: Target<DeployOut>,
): Target<PushOut>[] {
  const plan = ct.plan;
  const registry = plan.registry;
  const controller = plan.nodes.find((n) => n.role === 'controller');
  if (!registry || !controller) return [];
  const vm = ct.vms.get(controller.name);
  if (!vm) return [];
  const wanted = registry.images ?? [...images.keys()];
  const out: Target<PushOut>[] = [];
  for (const name of wanted) {
    const image = images.get(name);
    if (!image) {
      throw new PharosError(`clusters.hpc.container_registry.images names "${name}", which is not a container image`, {
        hint: `container images are the directories under containers/: ${[...images.keys()].join(', ') || 'none'}`,
        exitCode: 2,
      });
    }
    const address = `${controller.ip}:${registry.port}`;
    out.push(
      target<PushOut, { image: Target<ContainerImageOut>; registry: Target<DeployOut>; vm: Target<VmOut>; keys: Target<KeysOut> }>({
        name: `push:${plan.name}:${name}`,
        description: `container image ${name} pushed to the registry on ${controller.shortName} (${address})`,
        deps: { image, registry: registryDeploy, vm, keys: ct.keys },
        params: { address, name },
        tools: [{ name: 'skopeo', args: ['--version'] }],
        run: async (ctx) => {
          const { image: img, vm: v, keys } = ctx.deps;
          const repo = `pharos/${name}`;
          ctx.phase('tunnel');
          await withRootSession(v, keys, async (conn) => {
            const tunnel = await openTunnel(conn, { host: controller.ip, port: registry.port });
            try {
              const base = `http://${tunnel.local}`;
              await waitForRegistry(base, `${address} on ${controller.shortName}`, 60_000, ctx.signal);
              if (await hasManifest(base, repo, img.manifestDigest)) {
                ctx.log(`${address}/${repo} already holds ${img.manifestDigest}`);
              } else {
                ctx.phase('skopeo copy');
                await exec('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', '--retry-times', '2', `oci-archive:${img.archive}:latest`, `docker://${tunnel.local}/${repo}:latest`], {
                  signal: ctx.signal,
                  onLine: (l) => ctx.log(l),
                  timeoutMs: 30 * 60_000,
                  timeoutWhat: `skopeo copy of ${name} to ${address}`,
                  pkg: 'skopeo',
                });
                if (!(await hasManifest(base, repo, img.manifestDigest))) {
                  throw new PharosError(`after the push, ${address}/${repo} has no manifest ${img.manifestDigest}`, { hint: 'the registry changed the image on upload; see the skopeo lines in the log' });
                }
                ctx.log(`pushed ${name} (${img.manifestDigest}) to ${address}/${repo}`);
              }
            } finally {
              await tunnel.close();
            }
          }, { signal: ctx.signal });
          const pushed: PushOut = { image: name, ref: `${address}/${repo}@${img.manifestDigest}`, tagRef: `${address}/${repo}:latest`, digest: img.manifestDigest };
          // For the suites run outside the graph (pharos test run-test, e2e re-runs).
          await recordPush(ctx.stateDir, plan.name, pushed);
          return pushed;
        },
      }),
    );
  }
  return out;
}
