-- Hand-written (drizzle-kit does not generate triggers). A mailbox's test email is a messages row with
-- sequence_id '' (services/mailboxes.ts): the rollup counted it, so an admin's test emails showed as
-- "Sent" in the team report. The rollup triggers of 0008 again, leaving those rows out.
DROP TRIGGER `messages_rollup_insert`;--> statement-breakpoint
DROP TRIGGER `messages_rollup_update`;--> statement-breakpoint
DROP TRIGGER `messages_rollup_delete`;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_insert` AFTER INSERT ON `messages`
WHEN NEW.status IN ('sent', 'bounced') AND NEW.sent_at IS NOT NULL AND NEW.sequence_id <> ''
BEGIN
  INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office)
  VALUES (NEW.sequence_id, NEW.sent_at / 86400000, NEW.step_id, coalesce(NEW.variant_id, ''), NEW.mailbox_id, NEW.team_id, 1, NEW.status = 'bounced', NEW.reply_kind IS 'reply', NEW.reply_kind IS 'out_of_office')
  ON CONFLICT (sequence_id, day, step_id, variant_id, mailbox_id) DO UPDATE SET sent = sent + excluded.sent, bounced = bounced + excluded.bounced, replied = replied + excluded.replied, out_of_office = out_of_office + excluded.out_of_office;
END;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_update` AFTER UPDATE OF status, sent_at, reply_kind, sequence_id, step_id, variant_id, mailbox_id ON `messages`
BEGIN
  UPDATE report_rollup SET sent = sent - 1, bounced = bounced - (OLD.status = 'bounced'), replied = replied - (OLD.reply_kind IS 'reply'), out_of_office = out_of_office - (OLD.reply_kind IS 'out_of_office')
   WHERE OLD.status IN ('sent', 'bounced') AND OLD.sent_at IS NOT NULL AND OLD.sequence_id <> ''
     AND sequence_id = OLD.sequence_id AND day = OLD.sent_at / 86400000 AND step_id = OLD.step_id AND variant_id = coalesce(OLD.variant_id, '') AND mailbox_id = OLD.mailbox_id;
  INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office)
  SELECT NEW.sequence_id, NEW.sent_at / 86400000, NEW.step_id, coalesce(NEW.variant_id, ''), NEW.mailbox_id, NEW.team_id, 1, NEW.status = 'bounced', NEW.reply_kind IS 'reply', NEW.reply_kind IS 'out_of_office'
   WHERE NEW.status IN ('sent', 'bounced') AND NEW.sent_at IS NOT NULL AND NEW.sequence_id <> ''
  ON CONFLICT (sequence_id, day, step_id, variant_id, mailbox_id) DO UPDATE SET sent = sent + excluded.sent, bounced = bounced + excluded.bounced, replied = replied + excluded.replied, out_of_office = out_of_office + excluded.out_of_office;
END;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_delete` AFTER DELETE ON `messages`
WHEN OLD.status IN ('sent', 'bounced') AND OLD.sent_at IS NOT NULL AND OLD.sequence_id <> ''
BEGIN
  UPDATE report_rollup SET sent = sent - 1, bounced = bounced - (OLD.status = 'bounced'), replied = replied - (OLD.reply_kind IS 'reply'), out_of_office = out_of_office - (OLD.reply_kind IS 'out_of_office')
   WHERE sequence_id = OLD.sequence_id AND day = OLD.sent_at / 86400000 AND step_id = OLD.step_id AND variant_id = coalesce(OLD.variant_id, '') AND mailbox_id = OLD.mailbox_id;
END;--> statement-breakpoint
-- The test emails counted so far.
DELETE FROM report_rollup WHERE sequence_id = '';
