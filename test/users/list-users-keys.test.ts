// GET /api/users is users.view, which the README's table gives to standard keys as to members; Apollo's
// users/search stays a master-key endpoint, as Apollo has it.
import { describe, expect, it } from "vitest";
import { DEMO } from "../fixtures";
import { withKey } from "../helpers";

describe("listing the team's users with an API key", () => {
  it("a standard key lists its team's users, like a master key", async () => {
    for (const key of ["demo-standard-key", "demo-master-key"]) {
      const res = await withKey(key, "GET", "/api/users");
      expect(res.status, key).toBe(200);
      const { users } = (await res.json()) as { users: { id: string }[] };
      expect(
        users.map((u) => u.id),
        key,
      ).toContain(DEMO.rep1);
    }
  });

  it("Apollo's users/search still needs a master key", async () => {
    const res = await withKey("demo-standard-key", "GET", "/apollo/api/v1/users/search");
    expect(res.status).toBe(403);
  });
});
