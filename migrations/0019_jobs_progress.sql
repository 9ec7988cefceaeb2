ALTER TABLE `jobs` ADD `progress_at` integer;--> statement-breakpoint
ALTER TABLE `jobs` ADD `resumed_at` integer;