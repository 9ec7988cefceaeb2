import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { client, env, ok } from "../helpers";
import { startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

describe("working a reply from the inbox: its contact's stage and meeting booked are on the row", () => {
  beforeEach(() => startSimulation());

  it("a stage change and a meeting marked through the contact endpoints show on the reply, listed and alone", async () => {
    const s = await sentFirst({ waits: [0, 1, 1] });
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Interested', 'in_progress', 3)")
      .bind(`${s.teamId}-interested`, s.teamId)
      .run();
    await handleInbound(env, replyTo(s.m));
    const api = client(s.session).api;
    const listed = async () => (await ok(api.replies.$get({ query: {} }))).replies[0]!;

    const before = await listed();
    // The reply moved it to Replied; nothing booked yet.
    expect(before.contact).toMatchObject({ id: s.m.contact_id, stage: { name: "Replied" }, meeting_booked_at: null });

    await ok(api.contacts.stage.$post({ json: { contact_ids: [s.m.contact_id], stage_id: `${s.teamId}-interested` } }));
    const booked = await ok(api.contacts[":id"]["meeting-booked"].$post({ param: { id: s.m.contact_id }, json: {} }));
    const after = await listed();
    expect(after.contact).toMatchObject({
      stage: { id: `${s.teamId}-interested`, name: "Interested", category: "in_progress" },
      meeting_booked_at: booked.booked_at,
    });
    const one = (await ok(api.replies[":id"].$get({ param: { id: before.id } }))).reply;
    expect(one.contact).toMatchObject({ stage: { name: "Interested" }, meeting_booked_at: booked.booked_at });
    // Read back from the rows, not the answers: the stage and the meeting are the contact's own.
    expect(await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(s.m.contact_id).first<{ stage_id: string }>()).toEqual({
      stage_id: `${s.teamId}-interested`,
    });
    expect((await enrollmentRow(s.m.enrollment_id))?.status).toBe("finished");
  });
});
