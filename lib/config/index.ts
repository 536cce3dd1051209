export { loadConfig, loadConfigText, DEFAULT_CONFIG, REPO_ROOT, type LoadedConfig, type LoadOptions } from './load.js';
export { planSystem, macFor, imageRef, type PlanOptions } from './plan.js';
export type { ClusterConfig } from './types.js';
