// A rep reads the whole reply, not its 300-character snippet: both inbound paths keep the full text
// (up to INBOUND_BODY_MAX characters), and GET /api/replies/{id}/text answers it to whoever may see the reply.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { INBOUND_BODY_MAX } from "../../worker/db/schema";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { recordInbound } from "../../worker/services/replies";
import { classifyInbound } from "../../worker/services/reply-classify";
import { client, env, errorOf, ok, type Session } from "../helpers";
import { makeUser, sessionFor, startSimulation } from "../fixtures";
import { replyTo, sentFirst } from "./mail";

const textOf = (s: Session, id: string) => client(s).api.replies[":id"].text.$get({ param: { id } });
const long = `${"We went through the proposal with the whole team and have a few questions. ".repeat(20)}Call me Tuesday.\r\nAna`;

describe("a reply's whole text", () => {
  beforeEach(() => startSimulation());

  it("an email from the email() handler is kept whole; the inbox shows its snippet and the text GET all of it", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m, { body: long }));
    const got = await ok(textOf(s.session, r.inboundId!));
    expect(got.truncated).toBe(false);
    expect(got.text).toBe(long.replace(/\r\n/g, "\n"));
    expect(got.snippet.length).toBe(300);
    const { reply } = await ok(client(s.session).api.replies[":id"].$get({ param: { id: r.inboundId! } }));
    expect(reply.snippet).toBe(got.snippet);
  });

  it("an email found by reply polling (the same classify and record) is kept whole too", async () => {
    const s = await sentFirst();
    const t = now();
    const r = await recordInbound(env, db(env.DB), await classifyInbound(replyTo(s.m, { body: long }), t), t, s.mailboxId);
    expect((await ok(textOf(s.session, r.inboundId!))).text).toContain("Call me Tuesday.\nAna");
  });

  it("keeps at most INBOUND_BODY_MAX characters and says it was cut; an HTML-only email is kept as text", async () => {
    const s = await sentFirst({ n: 2 });
    const huge = await handleInbound(env, replyTo(s.sent[0]!, { body: "x".repeat(INBOUND_BODY_MAX + 500) }));
    const cut = await ok(textOf(s.session, huge.inboundId!));
    expect(cut).toMatchObject({ truncated: true });
    expect(cut.text!.length).toBe(INBOUND_BODY_MAX);
    const html = replyTo(s.sent[1]!, {
      body: "<html><head><style>p{}</style></head><body><p>Yes &amp; thanks</p><p>Call me<br>Tuesday</p></body></html>",
    }).replace("Content-Type: text/plain", "Content-Type: text/html");
    const r = await handleInbound(env, html);
    expect(await ok(textOf(s.session, r.inboundId!))).toMatchObject({
      text: "Yes & thanks\nCall me\nTuesday",
      snippet: "Yes & thanks Call me Tuesday",
    });
  });

  it("another team and a member who can't see the sequence get 404; a viewer of it reads it", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m, { body: long }));
    const member = await sessionFor(s.teamId, await makeUser(s.teamId));
    const other = await sentFirst();
    for (const who of [member, other.session])
      expect(await errorOf(await textOf(who, r.inboundId!))).toMatchObject({ status: 404, code: "not_found" });
    const viewer = await sessionFor(s.teamId, await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "view" }));
    expect((await ok(textOf(viewer, r.inboundId!))).text).toContain("Call me Tuesday.");
  });
});
