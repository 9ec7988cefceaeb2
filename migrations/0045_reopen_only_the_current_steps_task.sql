-- Hand-written (drizzle-kit does not generate triggers). A run opened again (reactivate: a reply or bounce
-- corrected) gets back only the task of the step it is on: 0035's trigger reopened every cancelled task of
-- the run, so a task cancelled because its step was deleted or turned off came back to the Tasks page,
-- work for a step that is gone. The step is found by the run's position (enrollments.current_step) and
-- must still be on.
DROP TRIGGER IF EXISTS `enrollments_reopen_tasks`;--> statement-breakpoint
CREATE TRIGGER `enrollments_reopen_tasks` AFTER UPDATE OF status ON `enrollments`
WHEN OLD.status NOT IN ('scheduled', 'active', 'paused', 'held') AND NEW.status IN ('scheduled', 'active', 'paused', 'held')
BEGIN
  UPDATE tasks SET status = 'open', completed_at = NULL
   WHERE enrollment_id = NEW.id AND status = 'cancelled'
     AND step_id IN (SELECT s.id FROM steps s WHERE s.sequence_id = NEW.sequence_id AND s.position = NEW.current_step AND s.enabled = 1);
END;
