/**
 * The ai-how compatibility pass: runs on the parsed YAML document before
 * variable expansion and the schema, and turns a config written for ai-how
 * into Pharos's form. It never changes meaning silently: each rewrite is one
 * warning with file:line:column, what was rewritten into what, and why. Keys
 * ai-how never read are dropped with one warning per section and reason that
 * names them all. Keys neither tool ever had are left alone, so the schema
 * rejects them with "did you mean". Working on the Document (not on plain
 * data) keeps comments, key order and source positions, so `pharos migrate`
 * can write the result back and later errors still point into the file.
 *
 * Rules: grouped cloud workers flattened (`worker_type` dropped); compute and
 * worker `ip_address` → `ip`; node `image_path` → `base_image_path`; virtio-fs
 * `readonly` → `options: ro`; missing `version`/`metadata`/`slurm_config`/
 * `kubernetes_config` get defaults; a cloud cluster without workers is
 * removed; `gres.gpu.count` → `emulated_gpus` where no GPU is passed through;
 * ai-how's accounting switches → `slurm_config.accounting` (compat-accounting.ts).
 */
import { basename, extname } from 'node:path';
import { isMap, isScalar, isSeq, Scalar, YAMLSeq, type Document, type LineCounter, type YAMLMap } from 'yaml';
import type { ErrorDetail } from '../errors.js';
import type { Path } from './rules.js';
import * as K from './compat-keys.js';
import { find, insert, keys, mapAt, Pass, renameKey, scalarValue, type CompatRewrite } from './compat-pass.js';
import { collectAccounting } from './compat-accounting.js';

export type { CompatRewrite, CompatRule } from './compat-pass.js';

function hasGpuPassthrough(node: YAMLMap): boolean {
  const p = mapAt(node, 'pcie_passthrough');
  if (!p || scalarValue(p, 'enabled') === false) return false;
  const devs = find(p, 'devices')?.value;
  return isSeq(devs) && devs.items.some((d) => isMap(d) && scalarValue(d, 'device_type') === 'gpu');
}

/** `gres: {gpu: {count: N}}` → `emulated_gpus: N` on a node without a GPU passed through. */
function convertGres(pass: Pass, node: YAMLMap, path: Path): void {
  const pair = find(node, 'gres');
  if (!pair) return;
  const gpu = isMap(pair.value) ? mapAt(pair.value, 'gpu') : undefined;
  const countPair = gpu ? find(gpu, 'count') : undefined;
  const count = isScalar(countPair?.value) ? countPair.value.value : undefined;
  if (hasGpuPassthrough(node)) return pass.ignore(node, path, 'gres', 'the node has a GPU passed through; Pharos counts its GPUs from pcie_passthrough');
  if (find(node, 'emulated_gpus')) return pass.ignore(node, path, 'gres', '`emulated_gpus` is also given');
  if (typeof count !== 'number' || !gpu) return pass.ignore(node, path, 'gres', 'ai-how never read it, and it has no gpu.count');
  const n = scalarValue(gpu, 'enabled') === false ? 0 : count;
  const dropped = keys(gpu).filter((k) => k !== 'count');
  pass.add(
    'emulated-gpus',
    [...path, 'gres'],
    pair.key,
    `\`gres.gpu.count: ${count}\`${n !== count ? ' (enabled: false)' : ''} → \`emulated_gpus: ${n}\`: no GPU is passed through to this node, and Pharos emulates GPUs as Slurm GRES on fake device files${dropped.length ? ` (gres.gpu ${dropped.join(', ')} dropped)` : ''}`,
  );
  (pair.key as Scalar).value = 'emulated_gpus';
  pair.value = n === count ? countPair!.value : new Scalar(n);
}

function virtioReadonly(pass: Pass, node: YAMLMap, path: Path): void {
  const mounts = find(node, 'virtio_fs_mounts')?.value;
  if (!isSeq(mounts)) return;
  mounts.items.forEach((m, i) => {
    if (!isMap(m)) return;
    const pair = find(m, 'readonly');
    if (!pair) return;
    const p = [...path, 'virtio_fs_mounts', i, 'readonly'];
    const ro = isScalar(pair.value) && pair.value.value === true;
    if (!ro) {
      pass.add('readonly', p, pair.key, '`readonly: false` dropped: read-write is the default');
      m.delete('readonly');
      return;
    }
    const old = scalarValue(m, 'options');
    const rest = typeof old === 'string' ? old.split(',').filter((o) => o && o !== 'rw' && o !== 'ro') : [];
    const options = ['ro', ...rest].join(',');
    pass.add('readonly', p, pair.key, `\`readonly: true\`${typeof old === 'string' ? ` with \`options: ${old}\`` : ''} → \`options: ${options}\`: Pharos passes mount options through \`options\``);
    m.delete('readonly');
    if (typeof old === 'string') m.set('options', new Scalar(options));
    else insert(m, 'options', new Scalar(options));
  });
}

type NodeKind = 'controller' | 'compute' | 'worker' | 'template';

function node(pass: Pass, map: YAMLMap, path: Path, kind: NodeKind): void {
  renameKey(pass, map, path, 'image_path', 'base_image_path', 'ai-how\'s test configs named the node image `image_path`');
  if (kind === 'compute' || kind === 'worker') {
    renameKey(
      pass,
      map,
      path,
      'ip_address',
      'ip',
      `a ${kind} node's address is \`ip\` (ai-how's test harness ignored \`ip_address\` and gave the node a DHCP address; Pharos keeps the address the file gives)`,
    );
  }
  if (kind !== 'controller') convertGres(pass, map, path);
  pass.ignoreKnown(map, path, K.NODE_KEYS);
  virtioReadonly(pass, map, path);
  const devs = mapAt(map, 'pcie_passthrough') && find(mapAt(map, 'pcie_passthrough')!, 'devices')?.value;
  if (isSeq(devs)) devs.items.forEach((d, i) => isMap(d) && pass.ignoreKnown(d, [...path, 'pcie_passthrough', 'devices', i], K.DEVICE_KEYS));
}

function network(pass: Pass, cluster: YAMLMap, path: Path): void {
  const net = mapAt(cluster, 'network');
  if (net) pass.ignoreKnown(net, [...path, 'network'], K.NETWORK_KEYS);
}

function hpc(pass: Pass, c: YAMLMap): void {
  const path: Path = ['clusters', 'hpc'];
  pass.ignoreKnown(c, path, K.HPC_KEYS);
  network(pass, c, path);
  const accounting = collectAccounting(pass, c, path);
  const ctrl = mapAt(c, 'controller');
  if (ctrl) node(pass, ctrl, [...path, 'controller'], 'controller');
  const group = find(c, 'compute_nodes')?.value;
  if (isSeq(group)) group.items.forEach((n, i) => isMap(n) && node(pass, n, [...path, 'compute_nodes', i], 'compute'));
  else if (isMap(group)) node(pass, group, [...path, 'compute_nodes'], 'template');
  const storage = mapAt(c, 'storage');
  if (storage) {
    for (const k of keys(storage)) if (k.startsWith(K.STORAGE_PREFIX)) pass.ignore(storage, [...path, 'storage'], k, K.STORAGE_PREFIX_REASON);
    if (storage.items.length === 0) c.delete('storage');
  }
  const registry = mapAt(c, 'container_registry');
  if (registry) pass.ignoreKnown(registry, [...path, 'container_registry'], K.REGISTRY_KEYS);
  const slurm = mapAt(c, 'slurm_config');
  if (slurm) pass.ignoreKnown(slurm, [...path, 'slurm_config'], K.SLURM_KEYS);
  else if (!find(c, 'slurm_config')) {
    const sc = pass.doc.createNode({ partitions: [K.DEFAULT_PARTITION], default_partition: K.DEFAULT_PARTITION });
    const parts = sc.get('partitions', true);
    if (isSeq(parts)) parts.flow = true;
    insert(c, 'slurm_config', sc);
    pass.add('default', [...path, 'slurm_config'], find(c, 'name')?.key ?? c, `no \`slurm_config\`: added one partition \`${K.DEFAULT_PARTITION}\` (the default partition, with every compute node and no time limit)`);
  }
  accounting.place();
}

/** Number of workers, or undefined when the form is not one this pass understands. */
function flattenWorkers(pass: Pass, c: YAMLMap, path: Path): number | undefined {
  const pair = find(c, 'worker_nodes');
  const wn = pair?.value;
  if (isSeq(wn)) return wn.items.length;
  if (!pair || !isMap(wn) || wn.items.length === 0) return undefined;
  const groups = keys(wn);
  if (!groups.every((k) => K.WORKER_GROUPS.includes(k))) return undefined;
  const seq = new YAMLSeq();
  seq.range = wn.range;
  const counts: string[] = [];
  let typed = 0;
  for (const g of groups) {
    const items = find(wn, g)?.value;
    const list = isSeq(items) ? items.items : [];
    counts.push(`${g}: ${list.length} node${list.length === 1 ? '' : 's'}`);
    for (const item of list) {
      if (isMap(item) && find(item, 'worker_type')) {
        item.delete('worker_type');
        typed++;
      }
      seq.items.push(item);
    }
  }
  pair.value = seq;
  const n = seq.items.length;
  if (n > 0) {
    pass.add(
      'flatten',
      [...path, 'worker_nodes'],
      pair.key,
      `grouped \`worker_nodes\` (${counts.join(', ')}) → one list of ${n} worker${n === 1 ? '' : 's'}${typed ? ` (\`worker_type\` dropped)` : ''}: ai-how's schema had only the grouped form from 2025-08-12 to 2025-10-31; Pharos makes a worker with a GPU passed through a gpu-worker, any other a cpu-worker`,
    );
  }
  return n;
}

function cloud(pass: Pass, clusters: YAMLMap): void {
  const path: Path = ['clusters', 'cloud'];
  const pair = find(clusters, 'cloud');
  const c = pair?.value;
  if (!pair || !isMap(c)) return;
  const wn = find(c, 'worker_nodes')?.value;
  const form = isMap(wn) ? `{${keys(wn).map((k) => `${k}: []`).join(', ')}}` : '[]';
  const n = flattenWorkers(pass, c, path);
  if (n === 0) {
    pass.add(
      'remove-cluster',
      path,
      pair.key,
      `the cloud cluster has no workers (\`worker_nodes: ${form}\`): treated as absent (ai-how's HPC test configs carried an empty cloud cluster its schema required; Pharos builds no cloud cluster for it)`,
    );
    clusters.delete('cloud');
    return;
  }
  pass.ignoreKnown(c, path, K.CLOUD_KEYS);
  network(pass, c, path);
  const cp = mapAt(c, 'control_plane');
  if (cp) node(pass, cp, [...path, 'control_plane'], 'controller');
  const workers = find(c, 'worker_nodes')?.value;
  if (isSeq(workers)) workers.items.forEach((w, i) => isMap(w) && node(pass, w, [...path, 'worker_nodes', i], 'worker'));
  else if (isMap(workers)) node(pass, workers, [...path, 'worker_nodes'], 'template');
  if (!find(c, 'kubernetes_config')) {
    insert(c, 'kubernetes_config', pass.doc.createNode({ ...K.DEFAULT_KUBERNETES }));
    const d = K.DEFAULT_KUBERNETES;
    pass.add('default', [...path, 'kubernetes_config'], find(c, 'name')?.key ?? pair.key, `no \`kubernetes_config\`: added cni ${d.cni}, ingress ${d.ingress}, storage_class ${d.storage_class} (the values every ai-how sample uses)`);
  }
}

function rootDefaults(pass: Pass, root: YAMLMap): void {
  const first = root.items[0]?.key;
  const firstKey = isScalar(first) ? String(first.value) : undefined;
  if (!find(root, 'version')) {
    insert(root, 'version', new Scalar('1.0'), firstKey);
    pass.add('default', ['version'], first ?? root, 'no `version`: added `version: "1.0"` (the only format version; ai-how\'s test harness did not need one)');
  }
  if (!find(root, 'metadata')) {
    const clusters = mapAt(root, 'clusters');
    const clusterName = (clusters ? [mapAt(clusters, 'hpc'), mapAt(clusters, 'cloud')] : []).map((c) => scalarValue(c, 'name')).find((v) => typeof v === 'string' && v !== '');
    const name = typeof clusterName === 'string' ? clusterName : basename(pass.file, extname(pass.file));
    const m = pass.doc.createNode({ name, description: `migrated from an ai-how config (${basename(pass.file)})` });
    const after = root.items.findIndex((p) => isScalar(p.key) && p.key.value === 'version');
    const next = root.items[after + 1]?.key;
    insert(root, 'metadata', m, isScalar(next) ? String(next.value) : undefined);
    pass.add('default', ['metadata'], first ?? root, `no \`metadata\`: added \`metadata: {name: ${name}}\` (ai-how's test harness did not need one)`);
  }
}

/**
 * Rewrites `doc` (a mapping at the top) in place; returns one entry per
 * rewrite, sorted by position. `lc` gives the positions (omit it for text
 * without a source, e.g. a document built in memory).
 */
export function applyCompat(doc: Document, lc: LineCounter | undefined, file: string): CompatRewrite[] {
  const root = doc.contents;
  if (!isMap(root)) return [];
  const pass = new Pass(doc, file, lc);
  const clusters = mapAt(root, 'clusters');
  if (clusters) {
    cloud(pass, clusters);
    const h = mapAt(clusters, 'hpc');
    if (h) hpc(pass, h);
  }
  pass.ignoreKnown(root, [], K.ROOT_KEYS);
  rootDefaults(pass, root);
  pass.flushIgnored();
  return pass.rewrites.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** A rewrite as an error, for `--strict`. */
export function strictDetail(r: CompatRewrite): ErrorDetail {
  const { rule: _rule, ...d } = r;
  return { ...d, message: `ai-how form (--strict): ${r.message}`, hint: 'pharos migrate CONFIG -o OUT writes the Pharos form' };
}
