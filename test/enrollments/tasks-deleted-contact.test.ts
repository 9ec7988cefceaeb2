// A task of a deleted contact stays on the Done tab (the work done, who did it) but names no one and links
// nowhere. Before, the contact join ignored deleted_at: the row showed the contact's name and details and a
// link to their page, which answers 404.
import { beforeEach, describe, expect, it } from "vitest";
import { ok } from "../helpers";
import { startSimulation } from "../fixtures";
import { onACall } from "./on-a-call";

beforeEach(() => startSimulation());

describe("a task of a deleted contact", () => {
  it("is listed as 'Deleted contact' with no details; a live contact's task keeps them", async () => {
    const x = await onACall(2);
    const [gone, kept] = x.contacts as [string, string];
    for (const c of [gone, kept])
      await ok(x.api.tasks[":id"][":action"].$post({ param: { id: (await x.row(c)).task_id, action: "complete" }, json: {} }));
    await ok(x.api.contacts[":id"].$delete({ param: { id: gone } }));

    const { tasks } = await ok(x.api.tasks.$get({ query: { view: "done" } }));
    const of = (c: string) => tasks.find((t) => t.contact?.id === c)!;
    expect(of(gone).contact).toEqual({
      id: gone,
      name: "Deleted contact",
      email: null,
      title: null,
      company: null,
      phone: null,
      linkedin_url: null,
      do_not_email: null,
      deleted: true,
    });
    expect(of(kept).contact).toMatchObject({ deleted: false, name: expect.stringMatching(/\S/) });
    expect(of(kept).contact!.email).not.toBeNull();
  });
});
