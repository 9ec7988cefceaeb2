CREATE TABLE `contact_changes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`team_id` text NOT NULL,
	`contact_id` text NOT NULL,
	`kind` text NOT NULL,
	`fields` text,
	`stage_id` text,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `contact_changes_team_idx` ON `contact_changes` (`team_id`,`id`);--> statement-breakpoint
CREATE INDEX `contact_changes_at_idx` ON `contact_changes` (`at`);--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `change_id` integer;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `contact_id` text;--> statement-breakpoint
ALTER TABLE `workflow_runs` ADD `change_kind` text;--> statement-breakpoint
CREATE UNIQUE INDEX `workflow_runs_change_uq` ON `workflow_runs` (`workflow_id`,`change_id`);--> statement-breakpoint
ALTER TABLE `workflows` ADD `trigger_kind` text DEFAULT 'schedule' NOT NULL;--> statement-breakpoint
ALTER TABLE `workflows` ADD `trigger` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `workflows` ADD `change_cursor` integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- The change log is kept by triggers (hand-written: drizzle-kit does not generate triggers), so every
-- writer of contacts logs its changes in the same transaction, and only while the team has a change
-- workflow on (a CSV import of a team without one writes nothing extra).
CREATE TRIGGER `contacts_change_created` AFTER INSERT ON `contacts`
WHEN NEW.deleted_at IS NULL AND EXISTS (SELECT 1 FROM workflows w WHERE w.team_id = NEW.team_id AND w.active = 1 AND w.trigger_kind = 'change')
BEGIN
  INSERT INTO contact_changes (team_id, contact_id, kind, fields, stage_id, at) VALUES (NEW.team_id, NEW.id, 'created', NULL, NEW.stage_id, NEW.created_at);
END;--> statement-breakpoint
CREATE TRIGGER `contacts_change_stage` AFTER UPDATE OF stage_id ON `contacts`
WHEN OLD.stage_id IS NOT NEW.stage_id AND NEW.deleted_at IS NULL AND EXISTS (SELECT 1 FROM workflows w WHERE w.team_id = NEW.team_id AND w.active = 1 AND w.trigger_kind = 'change')
BEGIN
  INSERT INTO contact_changes (team_id, contact_id, kind, fields, stage_id, at) VALUES (NEW.team_id, NEW.id, 'stage', NULL, NEW.stage_id, NEW.updated_at);
END;--> statement-breakpoint
CREATE TRIGGER `contacts_change_field` AFTER UPDATE ON `contacts`
WHEN NEW.deleted_at IS NULL AND (OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.title IS NOT NEW.title OR OLD.company IS NOT NEW.company OR OLD.domain IS NOT NEW.domain OR OLD.email IS NOT NEW.email OR OLD.email_status IS NOT NEW.email_status OR OLD.phone IS NOT NEW.phone OR OLD.linkedin_url IS NOT NEW.linkedin_url OR OLD.city IS NOT NEW.city OR OLD.country IS NOT NEW.country OR OLD.time_zone IS NOT NEW.time_zone OR OLD.owner_id IS NOT NEW.owner_id) AND EXISTS (SELECT 1 FROM workflows w WHERE w.team_id = NEW.team_id AND w.active = 1 AND w.trigger_kind = 'change')
BEGIN
  INSERT INTO contact_changes (team_id, contact_id, kind, fields, stage_id, at)
  VALUES (NEW.team_id, NEW.id, 'field', rtrim(CASE WHEN OLD.first_name IS NOT NEW.first_name THEN 'first_name,' ELSE '' END || CASE WHEN OLD.last_name IS NOT NEW.last_name THEN 'last_name,' ELSE '' END || CASE WHEN OLD.title IS NOT NEW.title THEN 'title,' ELSE '' END || CASE WHEN OLD.company IS NOT NEW.company THEN 'company,' ELSE '' END || CASE WHEN OLD.domain IS NOT NEW.domain THEN 'domain,' ELSE '' END || CASE WHEN OLD.email IS NOT NEW.email THEN 'email,' ELSE '' END || CASE WHEN OLD.email_status IS NOT NEW.email_status THEN 'email_status,' ELSE '' END || CASE WHEN OLD.phone IS NOT NEW.phone THEN 'phone,' ELSE '' END || CASE WHEN OLD.linkedin_url IS NOT NEW.linkedin_url THEN 'linkedin_url,' ELSE '' END || CASE WHEN OLD.city IS NOT NEW.city THEN 'city,' ELSE '' END || CASE WHEN OLD.country IS NOT NEW.country THEN 'country,' ELSE '' END || CASE WHEN OLD.time_zone IS NOT NEW.time_zone THEN 'time_zone,' ELSE '' END || CASE WHEN OLD.owner_id IS NOT NEW.owner_id THEN 'owner_id,' ELSE '' END, ','), NEW.stage_id, NEW.updated_at);
END;
