/**
 * The graph layer: typed targets and aliases (target.ts) and the checked
 * graph built from them (graph.ts). It knows nothing of the engine; the
 * public entry point that joins both is `lib/index.ts`.
 */
export {
  target,
  alias,
  isTarget,
  isAlias,
  type Target,
  type TargetSpec,
  type Alias,
  type ToolSpec,
  type ProbeContext,
  type RunContext,
  type DepOutputs,
  type GraphDefinition,
  type GraphContext,
  type GraphFactory,
} from './target.js';
export { buildGraph, select, closure, suggest, editDistance, nameGlob, type Graph, type Node } from './graph.js';
