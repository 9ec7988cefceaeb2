ALTER TABLE `inbound_messages` ADD `body` text;--> statement-breakpoint
ALTER TABLE `inbound_messages` ADD `body_truncated` integer DEFAULT false NOT NULL;