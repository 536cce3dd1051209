/** Compiles `root` (default: this checkout) into `out` (default `root/dist`); resolves to the number of files. */
export declare function compile(root?: string, out?: string): Promise<number>;
