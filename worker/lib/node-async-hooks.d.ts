// The Worker runs with nodejs_compat (wrangler.toml), which provides node:async_hooks; the project has
// no @types/node, so the one class db/riding-check.ts uses is declared here.
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, fn: () => R): R;
  }
}
