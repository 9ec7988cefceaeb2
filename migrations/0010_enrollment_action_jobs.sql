CREATE TABLE `enrollment_action_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`sequence_id` text NOT NULL,
	`user_id` text,
	`caller` text NOT NULL,
	`action` text NOT NULL,
	`params` text NOT NULL,
	`filter` text NOT NULL,
	`status` text NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`processed` integer DEFAULT 0 NOT NULL,
	`changed` integer DEFAULT 0 NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `enrollment_action_jobs_sequence_idx` ON `enrollment_action_jobs` (`team_id`,`sequence_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `enrollment_action_outcomes` (
	`job_id` text NOT NULL,
	`idx` integer NOT NULL,
	`team_id` text NOT NULL,
	`enrollment_id` text NOT NULL,
	`outcome` text DEFAULT 'pending' NOT NULL,
	`changed` integer DEFAULT false NOT NULL,
	`reason` text,
	`new_id` text,
	PRIMARY KEY(`job_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `enrollment_action_outcomes_outcome_idx` ON `enrollment_action_outcomes` (`job_id`,`outcome`);