ALTER TABLE `webhook_subscriptions` ADD `previous_sealed_secret` text;--> statement-breakpoint
ALTER TABLE `webhook_subscriptions` ADD `previous_hint` text;--> statement-breakpoint
ALTER TABLE `webhook_subscriptions` ADD `previous_secret_until` integer;