ALTER TABLE `enrollment_action_jobs` ADD `outcome_counts` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
-- The jobs made before this migration: their counts as their outcome rows say (once, here).
UPDATE `enrollment_action_jobs` SET `outcome_counts` = coalesce((SELECT json_group_object(o.outcome, o.n) FROM (SELECT outcome, count(*) AS n FROM `enrollment_action_outcomes` WHERE job_id = `enrollment_action_jobs`.id GROUP BY outcome) AS o), '{}');
