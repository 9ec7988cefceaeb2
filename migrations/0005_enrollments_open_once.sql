-- Invariant 1 is "at most once at a time": only open enrollments are unique per (sequence, contact),
-- so a finished or removed contact can be added again and the old enrollment stays as history.
DROP INDEX `enrollments_sequence_contact_uq`;--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_sequence_contact_open_uq` ON `enrollments` (`sequence_id`,`contact_id`) WHERE status IN ('scheduled', 'active', 'paused', 'held');--> statement-breakpoint
CREATE INDEX `enrollments_sequence_contact_idx` ON `enrollments` (`sequence_id`,`contact_id`);