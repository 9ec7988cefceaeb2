// The Worker runs with nodejs_compat (wrangler.toml), which provides node:crypto; the project has no
// @types/node, so the one hash `lib/crypto.ts` uses is declared here.
declare module "node:crypto" {
  interface Hash {
    update(data: string): Hash;
    digest(encoding: "hex"): string;
  }
  export function createHash(algorithm: "sha256"): Hash;
}
