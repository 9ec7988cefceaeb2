-- Hand-written (drizzle-kit does not generate triggers). A sequence's task (a call, a LinkedIn touch, a
-- manual email) belongs to its enrollment's run: when the run closes (the contact replied, unsubscribed,
-- bounced, was finished, removed, moved, restarted, or deleted), its open task is cancelled, so nobody
-- calls or emails a contact who left the sequence and the Tasks page lists only work that moves someone
-- on. A run opened again (reactivate: a reply or bounce corrected) gets back the task this cancelled.
-- Every writer of enrollments' status (the SequenceDO's mirror, a migration, the seed) is covered.
CREATE TRIGGER `enrollments_close_tasks` AFTER UPDATE OF status ON `enrollments`
WHEN OLD.status IN ('scheduled', 'active', 'paused', 'held') AND NEW.status NOT IN ('scheduled', 'active', 'paused', 'held')
BEGIN
  UPDATE tasks SET status = 'cancelled', completed_at = NEW.updated_at WHERE enrollment_id = NEW.id AND status = 'open';
END;--> statement-breakpoint
CREATE TRIGGER `enrollments_reopen_tasks` AFTER UPDATE OF status ON `enrollments`
WHEN OLD.status NOT IN ('scheduled', 'active', 'paused', 'held') AND NEW.status IN ('scheduled', 'active', 'paused', 'held')
BEGIN
  UPDATE tasks SET status = 'open', completed_at = NULL WHERE enrollment_id = NEW.id AND status = 'cancelled';
END;--> statement-breakpoint
CREATE TRIGGER `enrollments_delete_tasks` AFTER DELETE ON `enrollments`
BEGIN
  UPDATE tasks SET status = 'cancelled', completed_at = coalesce(OLD.finished_at, OLD.updated_at) WHERE enrollment_id = OLD.id AND status = 'open';
END;--> statement-breakpoint
-- Tasks of runs already closed when this ships (a run D1 doesn't have yet is left alone: its task may be
-- newer than the mirror of its enrollment).
UPDATE tasks SET status = 'cancelled', completed_at = (SELECT coalesce(e.finished_at, e.updated_at) FROM enrollments e WHERE e.id = tasks.enrollment_id)
 WHERE status = 'open'
   AND EXISTS (SELECT 1 FROM enrollments e WHERE e.id = tasks.enrollment_id AND e.status NOT IN ('scheduled', 'active', 'paused', 'held'));
