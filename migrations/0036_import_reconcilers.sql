ALTER TABLE `enrollment_action_jobs` ADD `updated_at` integer;--> statement-breakpoint
CREATE INDEX `enrollment_action_jobs_status_updated_idx` ON `enrollment_action_jobs` (`status`,`updated_at`);--> statement-breakpoint
CREATE INDEX `contacts_team_name_company_idx` ON `contacts` (`team_id`,lower(first_name),lower(last_name),lower(company),`deleted_at`);--> statement-breakpoint
CREATE INDEX `imports_status_updated_idx` ON `imports` (`status`,`updated_at`);