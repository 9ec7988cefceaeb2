-- Hand-written (drizzle-kit does not generate triggers). reply.received for a reply held for a person to pick its run
-- (evidence.held: its sender a contact in several open runs from the mailbox), sent when a person applies it
-- (POST /replies/{id}/apply-to-run: one write drops `held` and points the row at the run, its email and sequence).
-- 0065's insert trigger leaves a held reply out, as it answers no run yet. The event id is the one the reply would
-- have had ('evt_' || id), so a subscriber hears of it once, whichever way it was matched; the payload is 0065's,
-- read from the row as the person applied it. Due at once (when it was reviewed), dated when it came in.
CREATE TRIGGER `webhook_held_reply_applied` AFTER UPDATE OF evidence ON `inbound_messages`
WHEN NEW.classification = 'reply' AND NEW.enrollment_id IS NOT NULL
 AND json_extract(OLD.evidence, '$.held') IS NOT NULL AND json_extract(NEW.evidence, '$.held') IS NULL
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
         'pending', 0, coalesce(NEW.reviewed_at, NEW.received_at), coalesce(NEW.reviewed_at, NEW.received_at)
    FROM webhook_subscriptions s
   WHERE s.team_id = NEW.team_id AND s.enabled = 1 AND EXISTS (SELECT 1 FROM json_each(s.events) WHERE value = 'reply.received');
END;
