ALTER TABLE `workflow_runs` ADD `contact_ids` text;
