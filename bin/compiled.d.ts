export declare const MANIFEST: string;
export interface Snapshot {
  node: string;
  root: string;
  files: Record<string, [number, number]>;
}
export declare function snapshot(root: string): Snapshot;
export declare function compiledFresh(root: string): boolean;
