CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`subscription_id` text NOT NULL,
	`event_id` text NOT NULL,
	`type` text NOT NULL,
	`payload` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`last_status` integer,
	`last_error` text,
	`last_attempt_at` integer,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `webhook_deliveries_event_uq` ON `webhook_deliveries` (`subscription_id`,`event_id`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due_idx` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `webhook_deliveries_subscription_idx` ON `webhook_deliveries` (`subscription_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `webhook_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`sealed_secret` text NOT NULL,
	`hint` text NOT NULL,
	`failures_in_row` integer DEFAULT 0 NOT NULL,
	`disabled_reason` text,
	`created_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_subscriptions_team_idx` ON `webhook_subscriptions` (`team_id`,`created_at`);--> statement-breakpoint

-- Hand-written (drizzle-kit does not generate triggers). The outgoing webhooks' outbox: each fact a
-- subscription can hear of writes its delivery rows in the same statement's transaction as the fact itself,
-- whichever code path records it (the inbound email handler, reply polling and its cron catch-up, the
-- one-click unsubscribe link, a reply asking to be removed, the meetings button, API and signed webhook, the
-- SequenceDO's mirror of a run that ended). Nothing is written for a team without a subscription to the type.
-- The event id is made from the fact (its row, and its time when a row can have the fact again), so it is the
-- same for every subscription and every retry; the payload is frozen here, as the fact was when it happened.
-- Delivery is services/webhooks-out.ts's (the cron, or the queue for a test event), never the writer's.
-- reply.received: a reply stored against our email and its run (not an out-of-office, not one held for a person to pick the run).
CREATE TRIGGER `webhook_reply_received` AFTER INSERT ON `inbound_messages`
WHEN NEW.classification = 'reply' AND json_extract(NEW.effect, '$.enrollments') IS NULL
BEGIN
  INSERT OR IGNORE INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
  SELECT lower(hex(randomblob(12))), s.team_id, s.id, 'evt_' || NEW.id, 'reply.received',
         json_object('id', 'evt_' || NEW.id, 'type', 'reply.received', 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.received_at / 1000.0, 'unixepoch'),
                     'team_id', NEW.team_id,
                     'data', json_object('contact', json((SELECT json_object('id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
                                                   'name', trim(c.first_name || ' ' || c.last_name)) FROM contacts c WHERE c.id = NEW.contact_id)),
                     'sequence', json((SELECT json_object('id', q.id, 'name', q.name) FROM sequences q WHERE q.id = NEW.sequence_id)),
                     'run', json_object('id', NEW.enrollment_id), 'message', json_object('id', NEW.message_id),
                     'reply', json_object('id', NEW.id, 'from', NEW.from_email, 'subject', NEW.subject, 'snippet', NEW.snippet))),
         'pending', 0, NEW.received_at, NEW.received_at
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'reply.received');
END;--> statement-breakpoint
-- email.bounced: a hard bounce (also a fourth soft one) of one of our emails.
CREATE TRIGGER `webhook_email_bounced` AFTER INSERT ON `inbound_messages`
WHEN NEW.classification = 'bounce_hard'
BEGIN
  INSERT OR IGNORE INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
  SELECT lower(hex(randomblob(12))), s.team_id, s.id, 'evt_' || NEW.id, 'email.bounced',
         json_object('id', 'evt_' || NEW.id, 'type', 'email.bounced', 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.received_at / 1000.0, 'unixepoch'),
                     'team_id', NEW.team_id,
                     'data', json_object('contact', json((SELECT json_object('id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
                                                   'name', trim(c.first_name || ' ' || c.last_name)) FROM contacts c WHERE c.id = NEW.contact_id)),
                     'sequence', json((SELECT json_object('id', q.id, 'name', q.name) FROM sequences q WHERE q.id = NEW.sequence_id)),
                     'run', json_object('id', NEW.enrollment_id), 'message', json_object('id', NEW.message_id),
                     'bounce', json_object('status', NEW.bounce_status))),
         'pending', 0, NEW.received_at, NEW.received_at
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'email.bounced');
END;--> statement-breakpoint
-- contact.unsubscribed: the contact's unsubscribe mark set (one-click link or a reply asking to be removed); again only after it was lifted.
CREATE TRIGGER `webhook_contact_unsubscribed` AFTER UPDATE OF unsubscribed_at ON `contacts`
WHEN OLD.unsubscribed_at IS NULL AND NEW.unsubscribed_at IS NOT NULL
BEGIN
  INSERT OR IGNORE INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
  SELECT lower(hex(randomblob(12))), s.team_id, s.id, 'evt_unsub_' || NEW.id || '_' || NEW.unsubscribed_at, 'contact.unsubscribed',
         json_object('id', 'evt_unsub_' || NEW.id || '_' || NEW.unsubscribed_at, 'type', 'contact.unsubscribed', 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.unsubscribed_at / 1000.0, 'unixepoch'),
                     'team_id', NEW.team_id,
                     'data', json_object('contact', json((SELECT json_object('id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
                                                   'name', trim(c.first_name || ' ' || c.last_name)) FROM contacts c WHERE c.id = NEW.id)))),
         'pending', 0, NEW.unsubscribed_at, NEW.unsubscribed_at
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'contact.unsubscribed');
END;--> statement-breakpoint
-- meeting.booked: a meeting recorded (a duplicate booking inserts no row, so it sends nothing).
CREATE TRIGGER `webhook_meeting_booked` AFTER INSERT ON `meetings`
BEGIN
  INSERT OR IGNORE INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
  SELECT lower(hex(randomblob(12))), s.team_id, s.id, 'evt_' || NEW.id, 'meeting.booked',
         json_object('id', 'evt_' || NEW.id, 'type', 'meeting.booked', 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.created_at / 1000.0, 'unixepoch'),
                     'team_id', NEW.team_id,
                     'data', json_object('contact', json((SELECT json_object('id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
                                                   'name', trim(c.first_name || ' ' || c.last_name)) FROM contacts c WHERE c.id = NEW.contact_id)),
                     'meeting', json_object('id', NEW.id, 'booked_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.booked_at / 1000.0, 'unixepoch'), 'source', NEW.source, 'event_id', NEW.external_id))),
         'pending', 0, NEW.created_at, NEW.created_at
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'meeting.booked');
END;--> statement-breakpoint
-- run.finished: a run closed (finished, removed, failed), as D1 learns it from the SequenceDO's mirror; a run first
-- mirrored already closed counts too. Its time is in the id: a run opened again (a corrected reply) and closed again is a new event.
CREATE TRIGGER `webhook_run_finished` AFTER UPDATE OF status ON `enrollments`
WHEN OLD.status IN ('scheduled', 'active', 'paused', 'held') AND NEW.status NOT IN ('scheduled', 'active', 'paused', 'held')
BEGIN
  INSERT OR IGNORE INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
  SELECT lower(hex(randomblob(12))), s.team_id, s.id, 'evt_run_' || NEW.id || '_' || coalesce(NEW.finished_at, NEW.updated_at), 'run.finished',
         json_object('id', 'evt_run_' || NEW.id || '_' || coalesce(NEW.finished_at, NEW.updated_at), 'type', 'run.finished', 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(NEW.finished_at, NEW.updated_at) / 1000.0, 'unixepoch'),
                     'team_id', NEW.team_id,
                     'data', json_object('contact', json((SELECT json_object('id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
                                                   'name', trim(c.first_name || ' ' || c.last_name)) FROM contacts c WHERE c.id = NEW.contact_id)),
                     'sequence', json((SELECT json_object('id', q.id, 'name', q.name) FROM sequences q WHERE q.id = NEW.sequence_id)),
                     'run', json_object('id', NEW.id, 'status', NEW.status, 'reason', NEW.reason))),
         'pending', 0, coalesce(NEW.finished_at, NEW.updated_at), coalesce(NEW.finished_at, NEW.updated_at)
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'run.finished');
END;--> statement-breakpoint
CREATE TRIGGER `webhook_run_finished_on_insert` AFTER INSERT ON `enrollments`
WHEN NEW.status NOT IN ('scheduled', 'active', 'paused', 'held')
BEGIN
  INSERT OR IGNORE INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at)
  SELECT lower(hex(randomblob(12))), s.team_id, s.id, 'evt_run_' || NEW.id || '_' || coalesce(NEW.finished_at, NEW.updated_at), 'run.finished',
         json_object('id', 'evt_run_' || NEW.id || '_' || coalesce(NEW.finished_at, NEW.updated_at), 'type', 'run.finished', 'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', coalesce(NEW.finished_at, NEW.updated_at) / 1000.0, 'unixepoch'),
                     'team_id', NEW.team_id,
                     'data', json_object('contact', json((SELECT json_object('id', c.id, 'email', c.email, 'first_name', c.first_name, 'last_name', c.last_name,
                                                   'name', trim(c.first_name || ' ' || c.last_name)) FROM contacts c WHERE c.id = NEW.contact_id)),
                     'sequence', json((SELECT json_object('id', q.id, 'name', q.name) FROM sequences q WHERE q.id = NEW.sequence_id)),
                     'run', json_object('id', NEW.id, 'status', NEW.status, 'reason', NEW.reason))),
         'pending', 0, coalesce(NEW.finished_at, NEW.updated_at), coalesce(NEW.finished_at, NEW.updated_at)
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'run.finished');
END;
