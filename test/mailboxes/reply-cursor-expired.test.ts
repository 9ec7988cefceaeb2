// When Gmail forgets a mailbox's history point (404) or Graph its delta link (410), the reply check
// reads everything received since its last good check (Gmail messages.list q=after:, Graph delta with
// receivedDateTime ge): restarting from now would never read the replies in between.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { pollReplies } from "../../worker/services/reply-polling";
import { HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, providerState, teamWith } from "./oauth-sign-in";

beforeEach(() => startSimulation());

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as Record<string, unknown>;

describe("a reply check whose cursor the provider forgot", () => {
  for (const provider of ["google", "microsoft"] as const)
    it(`${provider}: reads the replies received since the last good check, then goes on from a new cursor`, async () => {
      const { teamId, userId, account, mailboxId } = await teamWith(provider);
      const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 3, unit: "days" }], null);
      const [contactId] = await makeContacts(teamId, 1);
      await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
      await runUntil(now() + HOUR);
      await pollReplies(env);
      const checked = (await config(mailboxId)).polled_at as number;
      expect(checked).toBe(now());
      const first = (await env.DB.prepare("SELECT to_email, subject, message_id_header FROM messages WHERE sequence_id = ?")
        .bind(sequenceId)
        .first<{ to_email: string; subject: string; message_id_header: string }>())!;
      // A reply arrives after the last good check, and the provider then forgets the cursor.
      await runUntil(now() + 2 * HOUR);
      await control("inbox", {
        account,
        receivedAt: now(),
        raw: `From: Prospect <${first.to_email}>\r\nTo: ${account}\r\nSubject: Re: ${first.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${first.message_id_header}\r\nReferences: ${first.message_id_header}\r\nContent-Type: text/plain\r\n\r\nInterested.\r\n`,
      });
      if (provider === "google") await control("history-floor", { account, floor: 1_000_000 });
      else
        await env.DB.prepare("UPDATE mailboxes SET transport_config = json_set(transport_config, '$.delta_link', ?) WHERE id = ?")
          .bind(`${env.GRAPH_API_URL}/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=expired`, mailboxId)
          .run();
      await pollReplies(env);
      expect(await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first()).toEqual({
        status: "finished",
        reason: "replied",
      });
      const after = await config(mailboxId);
      expect(after).toMatchObject({ polled_at: now(), poll_error: null });
      if (provider === "google") {
        expect(after.history_id).toEqual(expect.any(String));
        await control("history-floor", { account, floor: 0 });
      } else expect(after.delta_link).toContain("$deltatoken=");
      // The new cursor works: the next round reads nothing again and fails nothing.
      const reads = (await providerState(account)).calls.filter((c) => /messages\/in-/.test(c.path)).length;
      await pollReplies(env);
      expect((await providerState(account)).calls.filter((c) => /messages\/in-/.test(c.path)).length).toBe(reads);
      expect((await config(mailboxId)).poll_error).toBeNull();
    });
});
