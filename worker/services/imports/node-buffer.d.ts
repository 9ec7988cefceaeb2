// The Worker runs with nodejs_compat (wrangler.toml), which provides node:buffer; the project has no
// @types/node, so the little of Buffer the CSV reader uses is declared here.
declare module "node:buffer" {
  export interface Buffer extends Uint8Array {
    subarray(start?: number, end?: number): Buffer;
    toString(encoding?: "latin1" | "utf8"): string;
  }
  export const Buffer: {
    from(data: ArrayBufferLike, byteOffset?: number, length?: number): Buffer;
    from(data: string, encoding: "latin1" | "utf8"): Buffer;
    concat(list: readonly Uint8Array[]): Buffer;
  };
}
