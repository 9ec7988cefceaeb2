// Which threading header matched a reply, as the Replies screen shows it.
import { describe, expect, it } from "vitest";
import { classifyInbound } from "../../worker/services/reply-classify";

const first = `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`;
const second = `<sf.${"a".repeat(24)}.${"c".repeat(24)}@sender.test>`;
const t = Date.UTC(2027, 2, 1);
const mail = (headers: string) =>
  `From: Ana <ana@acme.test>\r\nTo: sam@sender.test\r\nSubject: Re: Quick question\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\n${headers}Content-Type: text/plain\r\n\r\nTuesday works.\r\n`;

describe("the threading evidence of a reply", () => {
  it("names References and its newest id of ours when In-Reply-To names none of ours", async () => {
    const c = await classifyInbound(
      mail(`In-Reply-To: <theirs-1@mail.test>\r\nReferences: ${first} <theirs-1@mail.test> ${second}\r\n`),
      t,
    );
    expect(c).toMatchObject({ kind: "reply", evidence: { rule: "threaded_reply", header: `References: ${second}` } });
    const none = await classifyInbound(mail(`References: ${first} ${second}\r\n`), t);
    expect(none.evidence.header).toBe(`References: ${second}`);
  });

  it("names In-Reply-To and its id when it holds one of ours", async () => {
    const c = await classifyInbound(mail(`In-Reply-To: ${second}\r\nReferences: ${first} ${second}\r\n`), t);
    expect(c.evidence.header).toBe(`In-Reply-To: ${second}`);
  });
});
