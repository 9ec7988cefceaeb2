DROP INDEX `contacts_team_email_idx`;--> statement-breakpoint
CREATE INDEX `contacts_team_email_idx` ON `contacts` (`team_id`,lower(email),`deleted_at`);--> statement-breakpoint
-- Every lookup of a contact by address compares lower(email) (unsubscribes, replies, meetings, saving to a
-- list, CSV imports): with the raw email in the index none of them could use it and each read the team's
-- contacts. Statistics for the new index, as after 0016.
PRAGMA optimize;
