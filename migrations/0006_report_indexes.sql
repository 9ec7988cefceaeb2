ALTER TABLE `messages` ADD `replied_at` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_kind` text;--> statement-breakpoint
CREATE INDEX `messages_sequence_report_idx` ON `messages` (`sequence_id`,`sent_at`,`step_id`,`variant_id`,`mailbox_id`,`status`,`reply_kind`);--> statement-breakpoint
CREATE INDEX `messages_team_replied_idx` ON `messages` (`team_id`,`replied_at`,`reply_kind`,`sequence_id`);--> statement-breakpoint
CREATE INDEX `messages_team_sent_idx` ON `messages` (`team_id`,`sent_at`,`sequence_id`,`mailbox_id`,`status`,`reply_kind`);--> statement-breakpoint
CREATE INDEX `enrollments_sequence_report_idx` ON `enrollments` (`sequence_id`,`created_at`,`status`,`current_step`,`reason`,`added_by`,`mailbox_id`);--> statement-breakpoint
CREATE INDEX `enrollments_team_created_idx` ON `enrollments` (`team_id`,`created_at`,`added_by`,`sequence_id`);--> statement-breakpoint
CREATE INDEX `tasks_sequence_step_idx` ON `tasks` (`sequence_id`,`step_id`,`status`,`completed_at`);