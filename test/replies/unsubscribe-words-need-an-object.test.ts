// "abmelden", "austragen" and "afmelden" alone also mean cancelling a registration or logging off: "Ich
// muss mich vom Webinar abmelden, aber gern nächste Woche" is an interested lead, and was read as a removal
// request (the address suppressed, every run ended). They count only as the whole reply, after "bitte" /
// "graag", or with the list, newsletter or emails the person is to be taken off.
import { describe, expect, it } from "vitest";
import { classifyInbound } from "../../worker/services/reply-classify";
import { replyTo, type Sent } from "./mail";

const t = Date.UTC(2027, 2, 1);
const m: Sent = {
  id: "m1",
  enrollment_id: "e1",
  contact_id: "c1",
  to_email: "kyle.dubois@acme.test",
  subject: "Quick question",
  message_id_header: `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`,
};

describe("German and Dutch removal words", () => {
  it.each([
    "Ich muss mich vom Webinar abmelden, aber gern nächste Woche.",
    "Ich muss mich leider für Dienstag austragen, können wir Donnerstag sprechen?",
    "Ich melde mich gleich ab, schicken Sie mir das Angebot bitte per Post.",
    "Können Sie die Anhänge von der E-Mail entfernen? Dann leite ich sie weiter.",
    "Ik moet me afmelden voor het webinar, maar volgende week graag een gesprek.",
    "Ich habe mich im Portal abmelden müssen, das Passwort war abgelaufen. Der Termin passt.",
  ])("%s stays a reply", async (body) => {
    expect((await classifyInbound(replyTo(m, { body }), t)).kind).toBe("reply");
  });

  it.each([
    "Abmelden",
    "Austragen.",
    "afmelden",
    "Bitte abmelden.",
    "Bitte mich austragen, danke.",
    "Ich möchte mich von Ihrer Liste abmelden.",
    "Bitte aus dem Verteiler austragen.",
    "Newsletter abmelden",
    "Tragen Sie mich bitte aus.",
    "Bitte entfernen Sie mich aus Ihrem Verteiler.",
    "Graag afmelden.",
    "Ik wil me afmelden voor uw nieuwsbrief.",
    "Kunt u mij van de mailinglijst afmelden?",
  ])("%s is a removal request", async (body) => {
    expect(await classifyInbound(replyTo(m, { body }), t)).toMatchObject({ kind: "unsubscribe", evidence: { rule: "asks_to_be_removed" } });
  });
});
