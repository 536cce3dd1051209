/**
 * How this process runs the engine, as bin/pharos.js set it up: from dist/
 * (compiled ahead, see scripts/compile.mjs) or from the source through tsx.
 * Undefined when lib/ is imported some other way (tests under `tsx`): then
 * TypeScript is already loadable.
 */
export interface Runtime {
  /** The engine runs from `root/dist` (fresh: lib/, tasks/ and pharos.build.ts unchanged since compiled). */
  compiled: boolean;
  /** The checkout the bin belongs to. */
  root: string;
  /** Makes `.ts` files importable (tsx), once; a no-op when already done. */
  registerTsx(): Promise<void>;
}

export function runtime(): Runtime | undefined {
  return (globalThis as Record<symbol, Runtime | undefined>)[Symbol.for('pharos.runtime')];
}
