-- Hand-written (drizzle-kit does not generate triggers). A task opened again (a reply or bounce corrected:
-- 0045's trigger; a step turned on again: createTasks) whose assignee was disabled meanwhile goes to whoever
-- a new task would go to (durable-objects/tasks.ts activeAssigneeSql: the run's mailbox owner while active,
-- else the sequence's owner while active, else the team's earliest-created active admin). Disabling hands on
-- only open tasks, so a cancelled task kept the disabled user, and reopened it waited with nobody to see it.
-- One rule for both reopening paths; an active assignee (maybe given the task by hand) keeps it.
CREATE TRIGGER `tasks_reopened_to_active_assignee` AFTER UPDATE OF status ON `tasks`
WHEN OLD.status <> 'open' AND NEW.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = NEW.assignee_id AND u.disabled_at IS NULL)
BEGIN
  UPDATE tasks SET assignee_id = coalesce(
    (SELECT m.user_id FROM mailboxes m JOIN users mu ON mu.id = m.user_id AND mu.disabled_at IS NULL
      WHERE m.id = (SELECT e.mailbox_id FROM enrollments e WHERE e.id = NEW.enrollment_id AND e.team_id = NEW.team_id)
        AND m.team_id = NEW.team_id),
    (SELECT su.id FROM users su
      WHERE su.id = (SELECT s.owner_id FROM sequences s WHERE s.id = NEW.sequence_id AND s.team_id = NEW.team_id)
        AND su.team_id = NEW.team_id AND su.disabled_at IS NULL),
    (SELECT a.id FROM users a WHERE a.team_id = NEW.team_id AND a.role = 'admin' AND a.disabled_at IS NULL
      ORDER BY a.created_at, a.id LIMIT 1),
    assignee_id)
   WHERE id = NEW.id;
END;
