DROP INDEX `mailboxes_team_email_uq`;--> statement-breakpoint
CREATE UNIQUE INDEX `mailboxes_team_email_uq` ON `mailboxes` (`team_id`,`email`) WHERE status <> 'removed';