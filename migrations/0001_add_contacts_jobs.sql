CREATE TABLE `enrichments` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`job_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`provider` text NOT NULL,
	`success` integer NOT NULL,
	`cost` integer DEFAULT 0 NOT NULL,
	`email` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrichments_job_contact_provider_uq` ON `enrichments` (`job_id`,`contact_id`,`provider`);--> statement-breakpoint
CREATE INDEX `enrichments_team_created_idx` ON `enrichments` (`team_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `job_candidates` (
	`job_id` text NOT NULL,
	`idx` integer NOT NULL,
	`team_id` text NOT NULL,
	`person_id` text,
	`contact_id` text,
	`mailbox_id` text,
	PRIMARY KEY(`job_id`, `idx`)
);
