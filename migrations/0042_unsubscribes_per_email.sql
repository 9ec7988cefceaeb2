ALTER TABLE `messages` ADD `unsubscribed_at` integer;--> statement-breakpoint
ALTER TABLE `report_rollup` ADD `unsubscribed` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Hand-written below (drizzle-kit does not generate triggers). An unsubscribe is counted on the email
-- the person opted out from (its link carries the email, or the reply answered it), not from the runs
-- the opt-out ended: a click after a run had finished counted nowhere, and one click counted in every
-- sequence whose run it ended. The rollup triggers of 0041 again, with the unsubscribed column.
DROP TRIGGER `messages_rollup_insert`;--> statement-breakpoint
DROP TRIGGER `messages_rollup_update`;--> statement-breakpoint
DROP TRIGGER `messages_rollup_delete`;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_insert` AFTER INSERT ON `messages`
WHEN NEW.status IN ('sent', 'bounced') AND NEW.sent_at IS NOT NULL AND NEW.sequence_id <> ''
BEGIN
  INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office, unsubscribed)
  VALUES (NEW.sequence_id, NEW.sent_at / 86400000, NEW.step_id, coalesce(NEW.variant_id, ''), NEW.mailbox_id, NEW.team_id, 1, NEW.status = 'bounced', NEW.reply_kind IS 'reply', NEW.reply_kind IS 'out_of_office', NEW.unsubscribed_at IS NOT NULL)
  ON CONFLICT (sequence_id, day, step_id, variant_id, mailbox_id) DO UPDATE SET sent = sent + excluded.sent, bounced = bounced + excluded.bounced, replied = replied + excluded.replied, out_of_office = out_of_office + excluded.out_of_office, unsubscribed = unsubscribed + excluded.unsubscribed;
END;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_update` AFTER UPDATE OF status, sent_at, reply_kind, unsubscribed_at, sequence_id, step_id, variant_id, mailbox_id ON `messages`
BEGIN
  UPDATE report_rollup SET sent = sent - 1, bounced = bounced - (OLD.status = 'bounced'), replied = replied - (OLD.reply_kind IS 'reply'), out_of_office = out_of_office - (OLD.reply_kind IS 'out_of_office'), unsubscribed = unsubscribed - (OLD.unsubscribed_at IS NOT NULL)
   WHERE OLD.status IN ('sent', 'bounced') AND OLD.sent_at IS NOT NULL AND OLD.sequence_id <> ''
     AND sequence_id = OLD.sequence_id AND day = OLD.sent_at / 86400000 AND step_id = OLD.step_id AND variant_id = coalesce(OLD.variant_id, '') AND mailbox_id = OLD.mailbox_id;
  INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office, unsubscribed)
  SELECT NEW.sequence_id, NEW.sent_at / 86400000, NEW.step_id, coalesce(NEW.variant_id, ''), NEW.mailbox_id, NEW.team_id, 1, NEW.status = 'bounced', NEW.reply_kind IS 'reply', NEW.reply_kind IS 'out_of_office', NEW.unsubscribed_at IS NOT NULL
   WHERE NEW.status IN ('sent', 'bounced') AND NEW.sent_at IS NOT NULL AND NEW.sequence_id <> ''
  ON CONFLICT (sequence_id, day, step_id, variant_id, mailbox_id) DO UPDATE SET sent = sent + excluded.sent, bounced = bounced + excluded.bounced, replied = replied + excluded.replied, out_of_office = out_of_office + excluded.out_of_office, unsubscribed = unsubscribed + excluded.unsubscribed;
END;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_delete` AFTER DELETE ON `messages`
WHEN OLD.status IN ('sent', 'bounced') AND OLD.sent_at IS NOT NULL AND OLD.sequence_id <> ''
BEGIN
  UPDATE report_rollup SET sent = sent - 1, bounced = bounced - (OLD.status = 'bounced'), replied = replied - (OLD.reply_kind IS 'reply'), out_of_office = out_of_office - (OLD.reply_kind IS 'out_of_office'), unsubscribed = unsubscribed - (OLD.unsubscribed_at IS NOT NULL)
   WHERE sequence_id = OLD.sequence_id AND day = OLD.sent_at / 86400000 AND step_id = OLD.step_id AND variant_id = coalesce(OLD.variant_id, '') AND mailbox_id = OLD.mailbox_id;
END;--> statement-breakpoint
-- The opt-outs so far: a run that ended 'unsubscribed' stamps its last email (the triggers count it).
UPDATE messages SET unsubscribed_at = (SELECT coalesce(e.finished_at, e.updated_at) FROM enrollments e WHERE e.id = messages.enrollment_id)
 WHERE unsubscribed_at IS NULL AND id IN (
   SELECT (SELECT m.id FROM messages m WHERE m.enrollment_id = e.id AND m.status IN ('sent', 'bounced') AND m.sent_at IS NOT NULL ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)
     FROM enrollments e WHERE e.reason = 'unsubscribed');
