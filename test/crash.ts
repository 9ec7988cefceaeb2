import type { Env } from "../worker/env";

// A crash between any two writes, for tests of what survives it (credits, job outcomes).
/** An env whose D1 throws instead of running its n-th write (a statement or a whole batch); reads pass. */
export function crashAt(base: Env, n: number): Env {
  return crashing(base, (w) => w === n, `simulated crash at write ${n}`);
}

/** An env whose Worker dies at its n-th write: that write and every one after it throw (a catch can't record anything). */
export function diesAt(base: Env, n: number): Env {
  return crashing(base, (w) => w >= n, `simulated death at write ${n}`);
}

function crashing(base: Env, fails: (write: number) => boolean, message: string): Env {
  let writes = 0;
  const sqlOf = new WeakMap<object, string>();
  const tick = (sqls: string[]) => {
    if (!sqls.some((s) => /^\s*(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(s))) return;
    if (fails(writes++)) throw new Error(message);
  };
  const wrap = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    sqlOf.set(stmt, sql);
    // Its methods are replaced in place, so every copy drizzle or a service keeps sees the crash.
    const s = stmt as unknown as Record<"first" | "run" | "all" | "raw" | "bind", (...a: unknown[]) => unknown>;
    for (const m of ["first", "run", "all", "raw"] as const) {
      const orig = s[m].bind(stmt);
      s[m] = (...a: unknown[]) => {
        tick([sql]);
        return orig(...a);
      };
    }
    const bind = s.bind.bind(stmt);
    s.bind = (...a: unknown[]) => wrap(bind(...a) as D1PreparedStatement, sql);
    return stmt;
  };
  const DB = new Proxy(base.DB, {
    get(t, k) {
      if (k === "prepare") return (sql: string) => wrap(t.prepare(sql), sql);
      if (k === "batch") return (stmts: D1PreparedStatement[]) => (tick(stmts.map((s) => sqlOf.get(s) ?? "")), t.batch(stmts));
      const v: unknown = Reflect.get(t, k);
      return typeof v === "function" ? v.bind(t) : v;
    },
  });
  return { ...base, DB } as Env;
}
