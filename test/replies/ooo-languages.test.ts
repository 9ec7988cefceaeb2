// Out-of-office replies and removal requests as prospects write them in German, French, Spanish,
// Italian, Dutch and Portuguese, and auto-responders that mark themselves only with Precedence or
// X-Autoresponse.
import { describe, expect, it } from "vitest";
import { classifyInbound, returnDate } from "../../worker/services/reply-classify";
import { replyTo, type Sent } from "./mail";

const m: Sent = {
  id: "m1",
  enrollment_id: "e1",
  contact_id: "c1",
  to_email: "ana@acme.test",
  subject: "Quick question",
  message_id_header: `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`,
};
const t = Date.UTC(2027, 2, 1);
const AUTO = "Auto-Submitted: auto-replied\r\n";

describe("out-of-office and removal requests in other languages", () => {
  it.each([
    [
      "de",
      "Re: Quick question",
      "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 12.03. nicht im Büro und habe keinen Zugriff auf E-Mails.",
    ],
    ["de", "Re: Quick question", "Ich bin derzeit abwesend. In dringenden Fällen wenden Sie sich bitte an info@acme.test."],
    ["fr", "RE: Quick question", "Bonjour, je suis absente jusqu'au 10 mars inclus, avec un accès limité à mes e-mails."],
    ["fr", "Re: Quick question", "Merci pour votre message. Je suis en congé et reviendrai le lundi 8 mars."],
    ["es", "RE: Quick question", "Gracias por su mensaje. Estaré ausente hasta el 9 de marzo con acceso limitado al correo."],
    ["es", "Re: Quick question", "Estoy fuera de la oficina. Para asuntos urgentes, contacte con ventas@acme.test."],
    ["it", "R: Quick question", "Grazie per la sua email. Sono fuori ufficio fino al 10 marzo."],
    ["nl", "Re: Quick question", "Bedankt voor uw bericht. Ik ben afwezig tot en met 10 maart."],
    ["pt", "Re: Quick question", "Obrigado pela mensagem. Estarei ausente até 10 de março, com acesso limitado ao e-mail."],
  ])("%s, with Auto-Submitted: %s / %s → out-of-office (the runs pause)", async (_lang, subject, body) => {
    const c = await classifyInbound(replyTo(m, { extra: AUTO, subject, body }), t);
    expect(c.kind).toBe("out_of_office");
    expect(c.evidence.rule).toMatch(/^auto_reply_/);
    expect(c.evidence.phrase).toBeTruthy();
  });

  it.each([
    ["de", "Bitte abmelden.", "abmelden"],
    ["de", "Bitte tragen Sie mich aus Ihrem Verteiler aus, ich möchte keine E-Mails mehr.", "tragen Sie mich aus"],
    ["fr", "Merci de me désabonner de cette liste.", "désabonne"],
    ["fr", "Veuillez ne plus me contacter.", "ne plus me contacter"],
    ["es", "Por favor, darme de baja de su lista.", "darme de baja"],
    ["it", "Cancellami dalla lista, grazie.", "Cancellami"],
    ["nl", "Graag uitschrijven, ik heb geen interesse.", "uitschrijven"],
    ["pt", "Por favor, remova-me da sua lista.", "remova-me"],
  ])("%s: %s is an unsubscribe request", async (_lang, body, phrase) => {
    expect(await classifyInbound(replyTo(m, { body }), t)).toMatchObject({
      kind: "unsubscribe",
      evidence: { rule: "asks_to_be_removed", phrase },
    });
  });

  it("a human reply in those languages without a removal request stays a reply", async () => {
    for (const body of ["Ja, gerne – Dienstag passt.", "Oui, mardi me convient.", "Sí, el martes me va bien.", "Ja, dinsdag past prima."])
      expect((await classifyInbound(replyTo(m, { body }), t)).kind, body).toBe("reply");
  });

  it("Precedence: bulk/junk or X-Autoresponse with out-of-office wording is an out-of-office; without it, a reply", async () => {
    for (const extra of ["Precedence: bulk\r\n", "Precedence: junk\r\n", "X-Autoresponse: yes\r\n"]) {
      const c = await classifyInbound(
        replyTo(m, { extra, subject: "Re: Quick question", body: "I am out of the office until March 8 with no access to email." }),
        t,
      );
      expect(c, extra).toMatchObject({
        kind: "out_of_office",
        returnAt: Date.UTC(2027, 2, 8, 9),
        evidence: {
          rule: "auto_reply_with_return_date",
          header: extra.split(":")[0] === "X-Autoresponse" ? "X-Autoresponse" : extra.trim(),
        },
      });
      // The header alone is no auto-reply: a person answering from a list-like system still answered.
      expect((await classifyInbound(replyTo(m, { extra, body: "Tuesday works, call me." }), t)).kind, extra).toBe("reply");
    }
  });

  it("'back in the office on' gives the return date", () => {
    expect(returnDate("I'll be back in the office on March 8.", t)).toBe(Date.UTC(2027, 2, 8, 9));
    expect(returnDate("Back in office on Monday, March 15", t)).toBe(Date.UTC(2027, 2, 15, 9));
  });
});
