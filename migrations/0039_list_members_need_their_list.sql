-- Hand-written (drizzle-kit does not generate triggers). A list deleted while an import, a save to list
-- or an add to it was still writing kept members nobody could see, and Apollo's contacts named the gone
-- list in label_ids: every writer of list_members inserts with no read of the list just before, so the
-- check lives here, once, for all of them. A member of a list that no longer exists is skipped.
CREATE TRIGGER `list_members_need_their_list` BEFORE INSERT ON `list_members`
WHEN NOT EXISTS (SELECT 1 FROM lists WHERE id = NEW.list_id AND team_id = NEW.team_id)
BEGIN
  SELECT RAISE(IGNORE);
END;--> statement-breakpoint
-- Members already left behind by such a delete.
DELETE FROM list_members WHERE NOT EXISTS (SELECT 1 FROM lists WHERE lists.id = list_members.list_id);
