-- Idempotency records now belong to one principal and keep the checks they passed; old team-wide
-- records are dropped (a retry after this migration runs again instead of replaying).
CREATE TABLE `__new_idempotency_keys` (
	`team_id` text NOT NULL,
	`principal` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`body` text,
	`grants` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`team_id`, `principal`, `key`)
);
--> statement-breakpoint
DROP TABLE `idempotency_keys`;--> statement-breakpoint
ALTER TABLE `__new_idempotency_keys` RENAME TO `idempotency_keys`;--> statement-breakpoint
ALTER TABLE `schedules` ADD `created_by` text;