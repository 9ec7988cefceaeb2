CREATE TABLE `report_rollup` (
	`sequence_id` text NOT NULL,
	`day` integer NOT NULL,
	`step_id` text NOT NULL,
	`variant_id` text NOT NULL,
	`mailbox_id` text NOT NULL,
	`team_id` text NOT NULL,
	`sent` integer DEFAULT 0 NOT NULL,
	`bounced` integer DEFAULT 0 NOT NULL,
	`replied` integer DEFAULT 0 NOT NULL,
	`out_of_office` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`sequence_id`, `day`, `step_id`, `variant_id`, `mailbox_id`)
);
--> statement-breakpoint
CREATE INDEX `report_rollup_team_day_idx` ON `report_rollup` (`team_id`,`day`);--> statement-breakpoint
DROP INDEX `enrollments_sequence_report_idx`;--> statement-breakpoint
CREATE INDEX `enrollments_sequence_report_idx` ON `enrollments` (`sequence_id`,`status`,`current_step`,`reason`,`created_at`,`added_by`,`mailbox_id`);--> statement-breakpoint
-- The rollup is kept by triggers, so every writer of messages keeps it right (hand-written: drizzle-kit does not generate triggers).
CREATE TRIGGER `messages_rollup_insert` AFTER INSERT ON `messages`
WHEN NEW.status IN ('sent', 'bounced') AND NEW.sent_at IS NOT NULL
BEGIN
  INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office)
  VALUES (NEW.sequence_id, NEW.sent_at / 86400000, NEW.step_id, coalesce(NEW.variant_id, ''), NEW.mailbox_id, NEW.team_id, 1, NEW.status = 'bounced', NEW.reply_kind IS 'reply', NEW.reply_kind IS 'out_of_office')
  ON CONFLICT (sequence_id, day, step_id, variant_id, mailbox_id) DO UPDATE SET sent = sent + excluded.sent, bounced = bounced + excluded.bounced, replied = replied + excluded.replied, out_of_office = out_of_office + excluded.out_of_office;
END;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_update` AFTER UPDATE OF status, sent_at, reply_kind, sequence_id, step_id, variant_id, mailbox_id ON `messages`
BEGIN
  UPDATE report_rollup SET sent = sent - 1, bounced = bounced - (OLD.status = 'bounced'), replied = replied - (OLD.reply_kind IS 'reply'), out_of_office = out_of_office - (OLD.reply_kind IS 'out_of_office')
   WHERE OLD.status IN ('sent', 'bounced') AND OLD.sent_at IS NOT NULL
     AND sequence_id = OLD.sequence_id AND day = OLD.sent_at / 86400000 AND step_id = OLD.step_id AND variant_id = coalesce(OLD.variant_id, '') AND mailbox_id = OLD.mailbox_id;
  INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office)
  SELECT NEW.sequence_id, NEW.sent_at / 86400000, NEW.step_id, coalesce(NEW.variant_id, ''), NEW.mailbox_id, NEW.team_id, 1, NEW.status = 'bounced', NEW.reply_kind IS 'reply', NEW.reply_kind IS 'out_of_office'
   WHERE NEW.status IN ('sent', 'bounced') AND NEW.sent_at IS NOT NULL
  ON CONFLICT (sequence_id, day, step_id, variant_id, mailbox_id) DO UPDATE SET sent = sent + excluded.sent, bounced = bounced + excluded.bounced, replied = replied + excluded.replied, out_of_office = out_of_office + excluded.out_of_office;
END;--> statement-breakpoint
CREATE TRIGGER `messages_rollup_delete` AFTER DELETE ON `messages`
WHEN OLD.status IN ('sent', 'bounced') AND OLD.sent_at IS NOT NULL
BEGIN
  UPDATE report_rollup SET sent = sent - 1, bounced = bounced - (OLD.status = 'bounced'), replied = replied - (OLD.reply_kind IS 'reply'), out_of_office = out_of_office - (OLD.reply_kind IS 'out_of_office')
   WHERE sequence_id = OLD.sequence_id AND day = OLD.sent_at / 86400000 AND step_id = OLD.step_id AND variant_id = coalesce(OLD.variant_id, '') AND mailbox_id = OLD.mailbox_id;
END;--> statement-breakpoint
-- Emails sent before this migration.
INSERT INTO report_rollup (sequence_id, day, step_id, variant_id, mailbox_id, team_id, sent, bounced, replied, out_of_office)
SELECT sequence_id, sent_at / 86400000, step_id, coalesce(variant_id, ''), mailbox_id, team_id, count(*), sum(status = 'bounced'), sum(reply_kind IS 'reply'), sum(reply_kind IS 'out_of_office')
  FROM messages WHERE status IN ('sent', 'bounced') AND sent_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6;
