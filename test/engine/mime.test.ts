import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildMessage,
  encodeQuotedPrintable,
  formatDate,
  messageIdFor,
  signUnsubscribeToken,
  subjectForThread,
  verifyUnsubscribeToken,
  type MessageInput,
} from "../../worker/services/mime";

// A minimal quoted-printable decoder (RFC 2045 §6.7), independent of the encoder under test.
function qpDecode(s: string): string {
  const joined = s.replace(/=\r\n/g, "").replace(/\r\n/g, "\n");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === "=") {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(joined.charCodeAt(i));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

// RFC 2047: decode encoded-words, dropping the whitespace between adjacent ones.
const decodeWords = (s: string) =>
  s
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g, (_m, b: string) =>
      new TextDecoder().decode(Uint8Array.from(atob(b), (c) => c.charCodeAt(0))),
    );

function parse(msg: string) {
  const at = msg.indexOf("\r\n\r\n");
  const head = msg.slice(0, at),
    body = msg.slice(at + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n(?=[ \t])/g, "").split("\r\n")) {
    const i = line.indexOf(":");
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 2));
  }
  return { head, body, headers };
}

const BASE: MessageInput = {
  from: { email: "grace@seqflare.test", name: "Grace Hopper" },
  to: { email: "ada@engines.test", name: "Ada Lovelace" },
  subject: "Quick question",
  text: "Hi Ada,\n\nWorth a chat?",
  messageId: "<sf.enr1.step1@seqflare.test>",
  date: Date.parse("2026-03-02T14:05:09Z"),
  unsubscribeUrl: "https://app.seqflare.test/u/abc.def",
  unsubscribeMailto: "unsubscribe+abc@seqflare.test",
  postalAddress: "Seqflare Inc., 1 Main St, Springfield, IL 62701, USA",
};

describe("messageIdFor", () => {
  it("is deterministic for an (enrollment, step) on the sender's domain", () => {
    expect(messageIdFor("e1a2", "s3b4", "Acme.test")).toBe("<sf.e1a2.s3b4@acme.test>");
    expect(messageIdFor("e1a2", "s3b4", "acme.test")).toBe(messageIdFor("e1a2", "s3b4", "acme.test"));
    expect(messageIdFor("e1a2", "s3b5", "acme.test")).not.toBe(messageIdFor("e1a2", "s3b4", "acme.test"));
  });
});

describe("subjectForThread", () => {
  it("prefixes Re: once", () => {
    expect(subjectForThread("Quick question")).toBe("Re: Quick question");
    expect(subjectForThread("Re: Quick question")).toBe("Re: Quick question");
    expect(subjectForThread("RE:Quick question")).toBe("RE:Quick question");
    expect(subjectForThread("Regarding pricing")).toBe("Re: Regarding pricing");
  });
});

describe("buildMessage", () => {
  it("writes exactly the expected headers for a first email", () => {
    expect(parse(buildMessage(BASE)).head.split("\r\n")).toEqual([
      "From: Grace Hopper <grace@seqflare.test>",
      "To: Ada Lovelace <ada@engines.test>",
      "Subject: Quick question",
      "Date: Mon, 02 Mar 2026 14:05:09 +0000",
      "Message-ID: <sf.enr1.step1@seqflare.test>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "List-Unsubscribe: <https://app.seqflare.test/u/abc.def>,",
      " <mailto:unsubscribe+abc@seqflare.test>",
      "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ]);
  });

  it("uses CRLF line endings only and keeps every line within 78 characters", () => {
    const msg = buildMessage({
      ...BASE,
      text: "one\ntwo\r\nthree\rfour",
      subject: "A fairly long subject line that certainly needs folding once it passes the limit of seventy-eight",
    });
    expect(msg).not.toMatch(/[^\r]\n|\r[^\n]/);
    expect(msg.endsWith("\r\n")).toBe(true);
    for (const line of msg.split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
    expect(parse(msg).headers.get("subject")).toBe(
      "A fairly long subject line that certainly needs folding once it passes the limit of seventy-eight",
    );
  });

  it("lists only the https URL when there is no mailto", () => {
    const { headers } = parse(buildMessage({ ...BASE, unsubscribeMailto: undefined }));
    expect(headers.get("list-unsubscribe")).toBe("<https://app.seqflare.test/u/abc.def>");
    expect(headers.get("list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
  });

  it("encodes a non-ASCII subject as UTF-8 encoded-words of whole characters, folded within 78", () => {
    const subject = "Café meeting in Zürich — 東京オフィスの件について、お時間いただけますか？ 🚀";
    const { head, headers } = parse(buildMessage({ ...BASE, subject }));
    const lines = head.split("\r\n");
    const first = lines.findIndex((l) => l.startsWith("Subject:"));
    expect(lines[first]).toMatch(/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    expect(lines[first + 1]).toMatch(/^ =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(78);
    for (const w of headers.get("subject")!.split(" ")) {
      expect(w.length).toBeLessThanOrEqual(75); // RFC 2047 §2
      expect(decodeWords(w)).not.toContain("\uFFFD"); // no character split across words
    }
    expect(decodeWords(headers.get("subject")!)).toBe(subject);
  });

  it("encodes text that looks like an encoded-word rather than letting clients decode it", () => {
    const { headers } = parse(buildMessage({ ...BASE, subject: "=?UTF-8?B?SGk=?=" }));
    expect(headers.get("subject")).toMatch(/^=\?UTF-8\?B\?/);
    expect(decodeWords(headers.get("subject")!)).toBe("=?UTF-8?B?SGk=?=");
  });

  it("keeps header values on one line even when they contain line breaks", () => {
    const { headers } = parse(
      buildMessage({ ...BASE, subject: "Hi\r\nBcc: victim@x.test", to: { email: "ada@engines.test", name: "Ada\nBcc: x" } }),
    );
    expect(headers.get("subject")).toBe("Hi Bcc: victim@x.test");
    expect(headers.get("to")).toBe('"Ada Bcc: x" <ada@engines.test>');
    expect(headers.has("bcc")).toBe(false);
  });

  it("quotes display names with specials and encodes non-ASCII ones", () => {
    expect(parse(buildMessage({ ...BASE, from: { email: "a@x.test", name: 'Lee, Ann "AL"' } })).headers.get("from")).toBe(
      '"Lee, Ann \\"AL\\"" <a@x.test>',
    );
    const from = parse(buildMessage({ ...BASE, from: { email: "j@x.test", name: "José Müller" } })).headers.get("from")!;
    expect(from).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= <j@x\.test>$/);
    expect(decodeWords(from)).toBe("José Müller <j@x.test>");
    expect(parse(buildMessage({ ...BASE, to: { email: "ada@engines.test" } })).headers.get("to")).toBe("<ada@engines.test>");
  });

  it("adds In-Reply-To and References for a follow-up in the thread", () => {
    const { headers } = parse(
      buildMessage({
        ...BASE,
        subject: subjectForThread(BASE.subject),
        messageId: messageIdFor("enr1", "step2", "seqflare.test"),
        inReplyTo: "<sf.enr1.step1@seqflare.test>",
        references: ["<sf.enr1.step0@seqflare.test>"],
      }),
    );
    expect(headers.get("subject")).toBe("Re: Quick question");
    expect(headers.get("message-id")).toBe("<sf.enr1.step2@seqflare.test>");
    expect(headers.get("in-reply-to")).toBe("<sf.enr1.step1@seqflare.test>");
    expect(headers.get("references")).toBe("<sf.enr1.step0@seqflare.test> <sf.enr1.step1@seqflare.test>");
  });

  it("uses In-Reply-To as References when no references are given, and doesn't repeat it", () => {
    const one = parse(buildMessage({ ...BASE, inReplyTo: "<p@x.test>" })).headers;
    expect(one.get("references")).toBe("<p@x.test>");
    const two = parse(buildMessage({ ...BASE, inReplyTo: "<p@x.test>", references: ["<o@x.test>", "<p@x.test>"] })).headers;
    expect(two.get("references")).toBe("<o@x.test> <p@x.test>");
  });

  it("has no threading headers on a first email", () => {
    const { headers } = parse(buildMessage(BASE));
    expect(headers.has("in-reply-to")).toBe(false);
    expect(headers.has("references")).toBe(false);
  });

  it("ends the body with the signature separator, the signature, the postal address and an unsubscribe line", () => {
    const body = qpDecode(parse(buildMessage({ ...BASE, signature: "Grace Hopper\nSeqflare" })).body);
    expect(body).toBe(
      "Hi Ada,\n\nWorth a chat?\n\n-- \nGrace Hopper\nSeqflare\n\n" +
        "Seqflare Inc., 1 Main St, Springfield, IL 62701, USA\nUnsubscribe: https://app.seqflare.test/u/abc.def\n",
    );
    const unsigned = qpDecode(parse(buildMessage(BASE)).body);
    expect(qpDecode(parse(buildMessage({ ...BASE, postalAddress: "" })).body)).toBe(
      "Hi Ada,\n\nWorth a chat?\n\n-- \nUnsubscribe: https://app.seqflare.test/u/abc.def\n",
    );
    expect(unsigned).toBe(
      "Hi Ada,\n\nWorth a chat?\n\n-- \nSeqflare Inc., 1 Main St, Springfield, IL 62701, USA\nUnsubscribe: https://app.seqflare.test/u/abc.def\n",
    );
  });

  it("round-trips a long non-ASCII body through quoted-printable", () => {
    const text = `${"Grüße aus München — naïve café, 東京, emoji 🚀🎉, equals = sign, trailing space ".repeat(12)}   \n\tTabbed line\t\n.leading dot\nfinal`;
    const { body } = parse(buildMessage({ ...BASE, text }));
    for (const line of body.split("\r\n")) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).toMatch(/^[\x21-\x7e \t]*$/); // 7-bit, printable
      expect(line).not.toMatch(/[ \t]$/); // no trailing whitespace
    }
    expect(qpDecode(body).startsWith(`${text.trimEnd()}\n\n-- \n`)).toBe(true);
  });
});

describe("encodeQuotedPrintable", () => {
  it("encodes '=', non-ASCII bytes and trailing whitespace", () => {
    expect(encodeQuotedPrintable("a=b")).toBe("a=3Db");
    expect(encodeQuotedPrintable("é")).toBe("=C3=A9");
    expect(encodeQuotedPrintable("x \ny\t")).toBe("x=20\r\ny=09");
    expect(encodeQuotedPrintable("a b")).toBe("a b");
  });

  it("keeps a 76-character line whole and soft-breaks a 77-character one", () => {
    expect(encodeQuotedPrintable("a".repeat(76))).toBe("a".repeat(76));
    expect(encodeQuotedPrintable("a".repeat(77))).toBe(`${"a".repeat(75)}=\r\naa`);
  });

  it("never splits an =XX escape across a soft break", () => {
    const out = encodeQuotedPrintable(`${"a".repeat(74)}é`);
    expect(out).toBe(`${"a".repeat(74)}=\r\n=C3=A9`);
  });

  it("round-trips any text", () => {
    const unit = fc.constantFrom("a", "Z", " ", "\t", "=", ".", "é", "東", "🚀", "\n", "\r\n", "~", "\u0001", "\x7f");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 400 }), (s) => {
        const out = encodeQuotedPrintable(s);
        const lines = out.split("\r\n");
        expect(lines.every((l) => l.length <= 76 && /^[\x21-\x7e \t]*$/.test(l) && !/[ \t]$/.test(l))).toBe(true);
        // A soft break comes only when the line is full: 75 characters, or 73–74 to keep an =XX whole.
        expect(lines.filter((l) => l.endsWith("=")).every((l) => l.length >= 74)).toBe(true);
        expect(qpDecode(out)).toBe(s.replace(/\r\n/g, "\n"));
      }),
    );
  });
});

describe("formatDate", () => {
  it("formats RFC 5322 dates in UTC", () => {
    expect(formatDate(Date.parse("2026-12-31T23:59:59.999Z"))).toBe("Thu, 31 Dec 2026 23:59:59 +0000");
    expect(formatDate(0)).toBe("Thu, 01 Jan 1970 00:00:00 +0000");
  });
});

describe("unsubscribe tokens", () => {
  const secret = "test-secret";
  const payload = { teamId: "team123", email: "Ada@Engines.test" };

  it("verifies a token it signed and returns its team and address", async () => {
    const token = await signUnsubscribeToken(secret, payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyUnsubscribeToken(secret, token)).toEqual(payload);
    expect(await signUnsubscribeToken(secret, payload)).toBe(token);
  });

  it("refuses a token whose payload was changed", async () => {
    const [, sig] = (await signUnsubscribeToken(secret, payload)).split(".");
    const forged = btoa(JSON.stringify({ t: "team123", e: "someone@else.test" }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    expect(await verifyUnsubscribeToken(secret, `${forged}.${sig}`)).toBeNull();
  });

  it("refuses a changed signature, another secret and malformed tokens", async () => {
    const token = await signUnsubscribeToken(secret, payload);
    const flipped = token.slice(0, -2) + (token.endsWith("A") ? "B" : "A") + token.slice(-1);
    expect(await verifyUnsubscribeToken(secret, flipped)).toBeNull();
    expect(await verifyUnsubscribeToken("other-secret", token)).toBeNull();
    for (const bad of ["", ".", "abc", `${token}.x`, token.split(".")[0]!, "a$b.c", `${token.split(".")[0]}.`]) {
      expect(await verifyUnsubscribeToken(secret, bad)).toBeNull();
    }
  });
});
