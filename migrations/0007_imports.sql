CREATE TABLE `import_rows` (
	`import_id` text NOT NULL,
	`row` integer NOT NULL,
	`team_id` text NOT NULL,
	`key` text,
	`contact_id` text,
	`outcome` text NOT NULL,
	`column` text,
	`value` text,
	`reason` text,
	PRIMARY KEY(`import_id`, `row`)
);
--> statement-breakpoint
CREATE INDEX `import_rows_key_idx` ON `import_rows` (`import_id`,`key`);--> statement-breakpoint
CREATE INDEX `import_rows_outcome_idx` ON `import_rows` (`import_id`,`outcome`);--> statement-breakpoint
CREATE TABLE `imports` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text NOT NULL,
	`file_name` text NOT NULL,
	`r2_key` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`status` text NOT NULL,
	`encoding` text NOT NULL,
	`delimiter` text NOT NULL,
	`raw_headers` text NOT NULL,
	`raw_sample` text NOT NULL,
	`mapping` text NOT NULL,
	`settings` text NOT NULL,
	`parts` text NOT NULL,
	`row_count` integer NOT NULL,
	`blank_rows` integer DEFAULT 0 NOT NULL,
	`parts_done` integer DEFAULT 0 NOT NULL,
	`saved` integer DEFAULT 0 NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`updated` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `imports_team_created_idx` ON `imports` (`team_id`,`created_at`);