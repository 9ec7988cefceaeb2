CREATE TABLE `meeting_webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`received_at` integer NOT NULL,
	`named` text,
	`event_id` text,
	`contact_id` text,
	`result` text NOT NULL,
	`status` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `meeting_webhook_deliveries_team_idx` ON `meeting_webhook_deliveries` (`team_id`,`received_at`);--> statement-breakpoint
ALTER TABLE `webhook_secrets` ADD `previous_sealed` text;--> statement-breakpoint
ALTER TABLE `webhook_secrets` ADD `previous_until` integer;