ALTER TABLE `idempotency_keys` ADD `withheld` text;--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_idx` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
-- Answers stored before withheld existed with no body held a secret (the only answers not kept then).
UPDATE `idempotency_keys` SET `withheld` = 'secret' WHERE `body` IS NULL AND `status` <> 0;
