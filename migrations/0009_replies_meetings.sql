CREATE TABLE `inbound_messages` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`sequence_id` text NOT NULL,
	`enrollment_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`message_id` text NOT NULL,
	`header_id` text NOT NULL,
	`from_email` text DEFAULT '' NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`snippet` text DEFAULT '' NOT NULL,
	`detected` text NOT NULL,
	`classification` text NOT NULL,
	`evidence` text NOT NULL,
	`return_at` integer,
	`bounce_status` text,
	`effect` text DEFAULT '{}' NOT NULL,
	`retry_attempt` integer DEFAULT 0 NOT NULL,
	`retry_at` integer,
	`received_at` integer NOT NULL,
	`reviewed_at` integer,
	`reviewed_by` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `inbound_messages_header_uq` ON `inbound_messages` (`team_id`,`header_id`);--> statement-breakpoint
CREATE INDEX `inbound_messages_team_received_idx` ON `inbound_messages` (`team_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `inbound_messages_sequence_idx` ON `inbound_messages` (`sequence_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `inbound_messages_contact_idx` ON `inbound_messages` (`contact_id`,`received_at`);--> statement-breakpoint
CREATE INDEX `inbound_messages_message_idx` ON `inbound_messages` (`message_id`);--> statement-breakpoint
CREATE INDEX `inbound_messages_retry_idx` ON `inbound_messages` (`retry_at`);--> statement-breakpoint
CREATE TABLE `meetings` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`booked_at` integer NOT NULL,
	`source` text NOT NULL,
	`external_id` text,
	`created_by` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `meetings_contact_idx` ON `meetings` (`team_id`,`contact_id`,`booked_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `meetings_external_uq` ON `meetings` (`team_id`,`external_id`);--> statement-breakpoint
CREATE TABLE `webhook_secrets` (
	`team_id` text NOT NULL,
	`kind` text NOT NULL,
	`sealed` text NOT NULL,
	`hint` text NOT NULL,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`team_id`, `kind`)
);
--> statement-breakpoint
CREATE TABLE `webhook_signatures` (
	`signature` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_signatures_created_idx` ON `webhook_signatures` (`created_at`);