CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`created_by` text NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_uq` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_team_idx` ON `api_keys` (`team_id`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`api_key_id` text,
	`action` text NOT NULL,
	`target_type` text,
	`target_id` text,
	`details` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_log_team_created_idx` ON `audit_log` (`team_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `contact_stages` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`name` text NOT NULL,
	`category` text NOT NULL,
	`position` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_stages_team_name_uq` ON `contact_stages` (`team_id`,`name`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`person_id` text,
	`owner_id` text,
	`stage_id` text,
	`first_name` text DEFAULT '' NOT NULL,
	`last_name` text DEFAULT '' NOT NULL,
	`title` text,
	`company` text,
	`domain` text,
	`industry` text,
	`employees` integer,
	`city` text,
	`country` text,
	`time_zone` text,
	`email` text,
	`email_status` text DEFAULT 'unavailable' NOT NULL,
	`phone` text,
	`linkedin_url` text,
	`score` integer DEFAULT 0 NOT NULL,
	`unsubscribed_at` integer,
	`bounced_at` integer,
	`job_changed_at` integer,
	`source` text DEFAULT 'manual' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contacts_team_person_uq` ON `contacts` (`team_id`,`person_id`);--> statement-breakpoint
CREATE INDEX `contacts_team_email_idx` ON `contacts` (`team_id`,`email`);--> statement-breakpoint
CREATE INDEX `contacts_team_owner_idx` ON `contacts` (`team_id`,`owner_id`);--> statement-breakpoint
CREATE INDEX `contacts_team_created_idx` ON `contacts` (`team_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `credit_ledger` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`kind` text NOT NULL,
	`amount` integer NOT NULL,
	`balance_after` integer NOT NULL,
	`job_id` text,
	`source` text DEFAULT 'manual' NOT NULL,
	`provider` text,
	`ref` text NOT NULL,
	`note` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credit_ledger_ref_uq` ON `credit_ledger` (`team_id`,`ref`);--> statement-breakpoint
CREATE INDEX `credit_ledger_team_created_idx` ON `credit_ledger` (`team_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `enrollments` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`sequence_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`mailbox_id` text,
	`status` text NOT NULL,
	`current_step` integer DEFAULT 0 NOT NULL,
	`next_due_at` integer,
	`reason` text,
	`job_id` text,
	`added_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_sequence_contact_uq` ON `enrollments` (`sequence_id`,`contact_id`);--> statement-breakpoint
CREATE INDEX `enrollments_team_status_idx` ON `enrollments` (`team_id`,`status`);--> statement-breakpoint
CREATE INDEX `enrollments_sequence_status_idx` ON `enrollments` (`sequence_id`,`status`);--> statement-breakpoint
CREATE INDEX `enrollments_contact_idx` ON `enrollments` (`contact_id`,`status`);--> statement-breakpoint
CREATE INDEX `enrollments_mailbox_status_idx` ON `enrollments` (`mailbox_id`,`status`,`next_due_at`);--> statement-breakpoint
CREATE INDEX `enrollments_due_idx` ON `enrollments` (`status`,`next_due_at`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`team_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`team_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `job_outcomes` (
	`job_id` text NOT NULL,
	`idx` integer NOT NULL,
	`team_id` text NOT NULL,
	`contact_id` text,
	`person_id` text,
	`outcome` text NOT NULL,
	`reasons` text NOT NULL,
	`credit_cost` integer DEFAULT 0 NOT NULL,
	`mailbox_id` text,
	PRIMARY KEY(`job_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `job_outcomes_outcome_idx` ON `job_outcomes` (`job_id`,`outcome`);--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`kind` text DEFAULT 'add_contacts' NOT NULL,
	`sequence_id` text,
	`source` text NOT NULL,
	`options` text NOT NULL,
	`status` text NOT NULL,
	`run_at` integer,
	`total` integer DEFAULT 0 NOT NULL,
	`processed` integer DEFAULT 0 NOT NULL,
	`enrolled` integer DEFAULT 0 NOT NULL,
	`warned` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`credits_held` integer DEFAULT 0 NOT NULL,
	`credits_used` integer DEFAULT 0 NOT NULL,
	`idempotency_key` text,
	`error` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jobs_team_idempotency_uq` ON `jobs` (`team_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `jobs_team_created_idx` ON `jobs` (`team_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `jobs_status_run_idx` ON `jobs` (`status`,`run_at`);--> statement-breakpoint
CREATE TABLE `list_members` (
	`list_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`team_id` text NOT NULL,
	`added_at` integer NOT NULL,
	PRIMARY KEY(`list_id`, `contact_id`)
);
--> statement-breakpoint
CREATE INDEX `list_members_contact_idx` ON `list_members` (`contact_id`);--> statement-breakpoint
CREATE TABLE `lists` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `lists_team_name_uq` ON `lists` (`team_id`,`name`);--> statement-breakpoint
CREATE TABLE `login_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`email` text NOT NULL,
	`ip` text NOT NULL,
	`success` integer NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `login_attempts_email_idx` ON `login_attempts` (`email`,`at`);--> statement-breakpoint
CREATE INDEX `login_attempts_ip_idx` ON `login_attempts` (`ip`,`at`);--> statement-breakpoint
CREATE TABLE `mailboxes` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text NOT NULL,
	`email` text NOT NULL,
	`sender_name` text NOT NULL,
	`signature` text DEFAULT '' NOT NULL,
	`transport` text DEFAULT 'outbox' NOT NULL,
	`transport_config` text DEFAULT '{}' NOT NULL,
	`secret_ciphertext` text,
	`daily_limit` integer DEFAULT 50 NOT NULL,
	`hourly_limit` integer DEFAULT 20 NOT NULL,
	`min_gap_seconds` integer DEFAULT 60 NOT NULL,
	`jitter_seconds` integer DEFAULT 30 NOT NULL,
	`status` text DEFAULT 'connected' NOT NULL,
	`status_reason` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mailboxes_team_email_uq` ON `mailboxes` (`team_id`,`email`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`enrollment_id` text NOT NULL,
	`sequence_id` text NOT NULL,
	`step_id` text NOT NULL,
	`variant_id` text,
	`mailbox_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`to_email` text NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`message_id_header` text NOT NULL,
	`in_reply_to` text,
	`raw` text,
	`status` text NOT NULL,
	`error` text,
	`scheduled_at` integer,
	`sent_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_enrollment_step_uq` ON `messages` (`enrollment_id`,`step_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `messages_message_id_uq` ON `messages` (`message_id_header`);--> statement-breakpoint
CREATE INDEX `messages_team_status_idx` ON `messages` (`team_id`,`status`,`scheduled_at`);--> statement-breakpoint
CREATE INDEX `messages_mailbox_status_idx` ON `messages` (`mailbox_id`,`status`,`scheduled_at`);--> statement-breakpoint
CREATE TABLE `people` (
	`id` text PRIMARY KEY NOT NULL,
	`first_name` text NOT NULL,
	`last_name` text NOT NULL,
	`title` text NOT NULL,
	`seniority` text NOT NULL,
	`department` text NOT NULL,
	`company` text NOT NULL,
	`domain` text NOT NULL,
	`industry` text NOT NULL,
	`employees` integer NOT NULL,
	`city` text NOT NULL,
	`country` text NOT NULL,
	`time_zone` text NOT NULL,
	`email` text,
	`email_status` text NOT NULL,
	`score` integer NOT NULL,
	`linkedin_url` text,
	`job_changed_at` integer
);
--> statement-breakpoint
CREATE INDEX `people_score_idx` ON `people` (`score`);--> statement-breakpoint
CREATE INDEX `people_country_city_idx` ON `people` (`country`,`city`);--> statement-breakpoint
CREATE INDEX `people_seniority_dept_idx` ON `people` (`seniority`,`department`,`score`);--> statement-breakpoint
CREATE INDEX `people_industry_emp_idx` ON `people` (`industry`,`employees`);--> statement-breakpoint
CREATE INDEX `people_company_idx` ON `people` (`company`);--> statement-breakpoint
CREATE INDEX `people_email_status_idx` ON `people` (`email_status`,`score`);--> statement-breakpoint
CREATE TABLE `schedules` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`name` text NOT NULL,
	`time_zone` text NOT NULL,
	`windows` text NOT NULL,
	`holidays` text DEFAULT '[]' NOT NULL,
	`holiday_calendar` text DEFAULT 'none' NOT NULL,
	`use_contact_time_zone` integer DEFAULT false NOT NULL,
	`is_default` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `schedules_team_name_uq` ON `schedules` (`team_id`,`name`);--> statement-breakpoint
CREATE TABLE `sequence_shares` (
	`sequence_id` text NOT NULL,
	`user_id` text NOT NULL,
	`team_id` text NOT NULL,
	`access` text NOT NULL,
	PRIMARY KEY(`sequence_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `sequence_shares_user_idx` ON `sequence_shares` (`user_id`);--> statement-breakpoint
CREATE TABLE `sequences` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`name` text NOT NULL,
	`active` integer DEFAULT false NOT NULL,
	`archived_at` integer,
	`schedule_id` text,
	`settings` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sequences_team_idx` ON `sequences` (`team_id`,`archived_at`);--> statement-breakpoint
CREATE INDEX `sequences_owner_idx` ON `sequences` (`team_id`,`owner_id`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`team_id` text NOT NULL,
	`csrf_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`user_agent` text
);
--> statement-breakpoint
CREATE INDEX `sessions_user_idx` ON `sessions` (`user_id`);--> statement-breakpoint
CREATE TABLE `step_variants` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`step_id` text NOT NULL,
	`label` text NOT NULL,
	`subject` text DEFAULT '' NOT NULL,
	`body` text DEFAULT '' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `step_variants_step_idx` ON `step_variants` (`step_id`);--> statement-breakpoint
CREATE TABLE `steps` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`sequence_id` text NOT NULL,
	`position` integer NOT NULL,
	`type` text NOT NULL,
	`wait_amount` integer DEFAULT 0 NOT NULL,
	`wait_unit` text DEFAULT 'days' NOT NULL,
	`business_days` integer DEFAULT false NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`thread_reply` integer DEFAULT false NOT NULL,
	`note` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `steps_sequence_idx` ON `steps` (`sequence_id`,`position`);--> statement-breakpoint
CREATE TABLE `suppressions` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`email` text NOT NULL,
	`reason` text NOT NULL,
	`source` text DEFAULT 'manual' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `suppressions_team_email_uq` ON `suppressions` (`team_id`,`email`);--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`enrollment_id` text,
	`sequence_id` text,
	`step_id` text,
	`contact_id` text,
	`assignee_id` text NOT NULL,
	`type` text NOT NULL,
	`note` text DEFAULT '' NOT NULL,
	`due_at` integer NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`completed_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tasks_enrollment_step_uq` ON `tasks` (`enrollment_id`,`step_id`);--> statement-breakpoint
CREATE INDEX `tasks_assignee_due_idx` ON `tasks` (`team_id`,`assignee_id`,`status`,`due_at`);--> statement-breakpoint
CREATE TABLE `teams` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`postal_address` text DEFAULT '' NOT NULL,
	`credit_balance` integer DEFAULT 0 NOT NULL,
	`settings` text DEFAULT '{}' NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`email` text NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`disabled_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_email_uq` ON `users` (`email`);--> statement-breakpoint
CREATE INDEX `users_team_idx` ON `users` (`team_id`);--> statement-breakpoint
CREATE TABLE `workflow_runs` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`workflow_id` text NOT NULL,
	`slot` integer NOT NULL,
	`status` text NOT NULL,
	`job_id` text,
	`found` integer DEFAULT 0 NOT NULL,
	`added` integer DEFAULT 0 NOT NULL,
	`skipped` integer DEFAULT 0 NOT NULL,
	`reason` text,
	`lease_until` integer NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `workflow_runs_slot_uq` ON `workflow_runs` (`workflow_id`,`slot`);--> statement-breakpoint
CREATE INDEX `workflow_runs_team_idx` ON `workflow_runs` (`team_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `workflows` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`name` text NOT NULL,
	`sequence_id` text NOT NULL,
	`filters` text NOT NULL,
	`options` text DEFAULT '{}' NOT NULL,
	`interval_minutes` integer DEFAULT 1440 NOT NULL,
	`max_per_run` integer DEFAULT 100 NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`next_run_at` integer,
	`last_run_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `workflows_due_idx` ON `workflows` (`active`,`next_run_at`);--> statement-breakpoint
CREATE INDEX `workflows_team_idx` ON `workflows` (`team_id`);