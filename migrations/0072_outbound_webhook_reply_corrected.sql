-- Hand-written (drizzle-kit does not generate triggers). reply.received for an email a person corrected into a
-- reply (POST /replies/{id}/classification: an out-of-office, auto-reply, bounce or unsubscribe request taken
-- for what it wasn't), which the run then reacts to as a reply. 0065's trigger fires only when a row is stored,
-- 0067's only when a held reply is applied; correctClassification's one write of the new classification fires
-- this one (the correction's claim and a confirmation of the same classification don't change it). The event
-- id is the one an inserted reply has ('evt_' || id): with webhook_deliveries_event_uq and INSERT OR IGNORE, a
-- reply stored as one (or already corrected into one) and corrected away and back is sent once. A correction
-- away from a reply sends nothing (an event already recorded stays as it was). The payload is 0065's, read from
-- the row as corrected; due at once (when it was reviewed), dated when it came in.
CREATE TRIGGER `webhook_reply_corrected` AFTER UPDATE OF classification ON `inbound_messages`
WHEN NEW.classification = 'reply' AND OLD.classification IS NOT 'reply'
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
