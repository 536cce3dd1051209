// placeholder until the helper's module lands
export interface ContainerImageOut { archive: string; manifestDigest: string; sizeBytes: number; unpackedBytes: number; name: string }
import type { Target } from '../lib/graph/index.js';
import type { HostTargets } from './host.js';
export async function containerImageTargets(_root: string, _host: HostTargets): Promise<Map<string, Target<ContainerImageOut>>> { return new Map(); }
