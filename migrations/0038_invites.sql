CREATE TABLE `invites` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`email` text NOT NULL,
	`name` text,
	`role` text NOT NULL,
	`invited_by` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`accepted_at` integer,
	`revoked_at` integer,
	`user_id` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invites_token_uq` ON `invites` (`token_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `invites_pending_uq` ON `invites` (`team_id`,`email`) WHERE accepted_at IS NULL AND revoked_at IS NULL;