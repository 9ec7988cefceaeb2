-- A step's variants had no unique letter: two adds at once could both write the same one before the add
-- was guarded. Before the unique index, each later duplicate (by created_at, then id; the first one keeps
-- its letter) takes the step's next free letter, in the order the duplicates were added: A–Z, then AA, AB…
-- The new letters are all picked first, into a table of their own, from the letters as they are now: an
-- UPDATE picking them as it goes would see its own changes and skip letters.
CREATE TABLE `_step_variant_relabels` AS
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 701),
  letters(i, label) AS (
    SELECT i, CASE WHEN i < 26 THEN char(65 + i) ELSE char(64 + i / 26) || char(65 + i % 26) END FROM n),
  ranked AS (
    SELECT id, step_id, created_at, row_number() OVER (PARTITION BY step_id, label ORDER BY created_at, id) AS k
      FROM step_variants),
  dups AS (
    SELECT id, step_id, row_number() OVER (PARTITION BY step_id ORDER BY created_at, id) AS j FROM ranked WHERE k > 1),
  free AS (
    SELECT d.step_id, l.label, row_number() OVER (PARTITION BY d.step_id ORDER BY l.i) AS j
      FROM (SELECT DISTINCT step_id FROM dups) d, letters l
     WHERE NOT EXISTS (SELECT 1 FROM step_variants v WHERE v.step_id = d.step_id AND v.label = l.label))
SELECT x.id AS id, f.label AS label FROM dups x JOIN free f ON f.step_id = x.step_id AND f.j = x.j;--> statement-breakpoint
UPDATE step_variants SET label = (SELECT r.label FROM `_step_variant_relabels` r WHERE r.id = step_variants.id)
 WHERE id IN (SELECT id FROM `_step_variant_relabels`);--> statement-breakpoint
DROP TABLE `_step_variant_relabels`;--> statement-breakpoint
DROP INDEX `step_variants_step_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `step_variants_step_label_uq` ON `step_variants` (`step_id`,`label`);
