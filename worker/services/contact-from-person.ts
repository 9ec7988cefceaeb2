import type { Row } from "../db/bulk";
import type { people } from "../db/schema";

/**
 * A contact saved from the prospect database copies the person's fields: one mapping, used by the
 * add-contacts job (net-new contacts) and by the demo seed, so both write the same row.
 */
export const CONTACT_FROM_PERSON_COLUMNS = [
  "id",
  "team_id",
  "person_id",
  "owner_id",
  "stage_id",
  "first_name",
  "last_name",
  "title",
  "company",
  "domain",
  "industry",
  "employees",
  "city",
  "country",
  "time_zone",
  "email",
  "email_status",
  "linkedin_url",
  "score",
  "job_changed_at",
  "source",
  "created_at",
  "updated_at",
] as const;

export type PersonFields = Pick<
  typeof people.$inferSelect,
  | "id"
  | "firstName"
  | "lastName"
  | "title"
  | "company"
  | "domain"
  | "industry"
  | "employees"
  | "city"
  | "country"
  | "timeZone"
  | "linkedinUrl"
  | "score"
  | "jobChangedAt"
>;

/** The contact row (in CONTACT_FROM_PERSON_COLUMNS order) for `p`, with the address the caller settled on. */
export function contactFromPerson(
  p: PersonFields,
  c: {
    id: string;
    teamId: string;
    ownerId: string | null;
    stageId: string | null;
    email: string | null;
    emailStatus: string;
    source: string;
    at: number;
  },
): Row {
  return [
    c.id,
    c.teamId,
    p.id,
    c.ownerId,
    c.stageId,
    p.firstName,
    p.lastName,
    p.title,
    p.company,
    p.domain,
    p.industry,
    p.employees,
    p.city,
    p.country,
    p.timeZone,
    c.email,
    c.emailStatus,
    p.linkedinUrl,
    p.score,
    p.jobChangedAt,
    c.source,
    c.at,
    c.at,
  ];
}
