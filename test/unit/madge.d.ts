/** madge ships no types: the part of its API the architecture test uses. */
declare module 'madge' {
  interface MadgeOptions {
    fileExtensions?: string[];
    tsConfig?: string;
    /** Leave out `import type` (erased when compiled: no circle at run time). */
    detectiveOptions?: { ts?: { skipTypeImports?: boolean }; es6?: { skipTypeImports?: boolean } };
  }

  interface MadgeResult {
    /** Each circle as the files along it, relative to the common folder of the paths given. */
    circular(): string[][];
    /** Each file and the files it imports. */
    obj(): Record<string, string[]>;
    /** Files madge could not resolve (packages named by path aliases it does not know). */
    warnings(): { skipped: string[] };
  }

  function madge(paths: string | string[], options?: MadgeOptions): Promise<MadgeResult>;
  export = madge;
}
