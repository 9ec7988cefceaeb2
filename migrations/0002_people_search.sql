-- Keyword search over the prospect database (names, titles, companies): an external-content FTS5
-- index kept in step with `people` by triggers. Filters use the b-tree indexes of 0000.
CREATE VIRTUAL TABLE `people_fts` USING fts5(first_name, last_name, title, company, industry, city, content='people', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
CREATE TRIGGER `people_fts_ai` AFTER INSERT ON `people` BEGIN
  INSERT INTO people_fts(rowid, first_name, last_name, title, company, industry, city) VALUES (new.rowid, new.first_name, new.last_name, new.title, new.company, new.industry, new.city);
END;
--> statement-breakpoint
CREATE TRIGGER `people_fts_ad` AFTER DELETE ON `people` BEGIN
  INSERT INTO people_fts(people_fts, rowid, first_name, last_name, title, company, industry, city) VALUES ('delete', old.rowid, old.first_name, old.last_name, old.title, old.company, old.industry, old.city);
END;
--> statement-breakpoint
CREATE TRIGGER `people_fts_au` AFTER UPDATE ON `people` BEGIN
  INSERT INTO people_fts(people_fts, rowid, first_name, last_name, title, company, industry, city) VALUES ('delete', old.rowid, old.first_name, old.last_name, old.title, old.company, old.industry, old.city);
  INSERT INTO people_fts(rowid, first_name, last_name, title, company, industry, city) VALUES (new.rowid, new.first_name, new.last_name, new.title, new.company, new.industry, new.city);
END;
--> statement-breakpoint
CREATE INDEX `people_title_idx` ON `people` (`title`);
--> statement-breakpoint
CREATE INDEX `people_employees_idx` ON `people` (`employees`);
--> statement-breakpoint
CREATE INDEX `contacts_team_stage_idx` ON `contacts` (`team_id`, `stage_id`);
