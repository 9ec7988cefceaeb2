import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { mailboxStub } from "../../durable-objects/engine";
import { newId } from "../../worker/lib/ids";
import { env } from "../helpers";

/** The MailboxDO's memos of its window groups, seen from inside (they are private: the object is their only reader). */
interface Memos {
  inTransaction<T>(fn: () => T): T;
  groupId(window: string, zone: string | null): number;
  group(gid: number): { w: { timeZone: string }; zone: string | null } | null;
}

const windowIn = (timeZone: string) =>
  JSON.stringify({ timeZone, windows: { "1": [["09:00", "17:00"]] }, holidays: [], holidayCalendar: "none" });

describe("a MailboxDO's window groups after a rolled-back transaction", () => {
  it("forgets the parsed window of a group that was rolled back: the next group created under its id keeps its own window", async () => {
    await runInDurableObject(mailboxStub(env, `memos-${newId()}`), (instance) => {
      const o = instance as unknown as Memos;
      let lost = -1;
      expect(() =>
        o.inTransaction(() => {
          lost = o.groupId(windowIn("Asia/Tokyo"), null);
          expect(o.group(lost)!.w.timeZone).toBe("Asia/Tokyo");
          throw new Error("rolled back");
        }),
      ).toThrow("rolled back");
      // SQLite hands the rolled-back group's id to the next group created.
      const gid = o.inTransaction(() => o.groupId(windowIn("America/New_York"), null));
      expect(gid).toBe(lost);
      expect(o.group(gid)!.w.timeZone).toBe("America/New_York");
    });
  });
});
