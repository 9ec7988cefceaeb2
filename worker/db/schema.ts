// The D1 data model for the whole product. D1 is the source of truth for everything queried across
// sequences or shown in lists (DESIGN.md, "Who owns what"). Every team-owned table carries team_id,
// and every query filters on it (invariant 8). Instants are integer milliseconds since the epoch, UTC.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { foldSql, SORT_FOLDS } from "./contains";

const id = () => text("id").primaryKey();
const teamId = () => text("team_id").notNull();
const createdAt = () => integer("created_at").notNull();

export const teams = sqliteTable("teams", {
  id: id(),
  name: text("name").notNull(),
  /** Postal address printed in every email footer (CAN-SPAM). */
  postalAddress: text("postal_address").notNull().default(""),
  /** Cached balance; only ever changed in the same batch as a credit_ledger row (invariant 6). */
  creditBalance: integer("credit_balance").notNull().default(0),
  settings: text("settings", { mode: "json" })
    .$type<Record<string, unknown>>()
    .notNull()
    .default(sql`'{}'`),
  createdAt: createdAt(),
});

export const users = sqliteTable(
  "users",
  {
    id: id(),
    teamId: teamId(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: ["admin", "member"] }).notNull(),
    passwordHash: text("password_hash").notNull(),
    createdAt: createdAt(),
    disabledAt: integer("disabled_at"),
  },
  (t) => [uniqueIndex("users_email_uq").on(t.email), index("users_team_idx").on(t.teamId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** SHA-256 of the cookie token: a stolen database row can't be replayed as a cookie. */
    id: id(),
    userId: text("user_id").notNull(),
    teamId: teamId(),
    csrfToken: text("csrf_token").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at").notNull(),
    userAgent: text("user_agent"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: id(),
    teamId: teamId(),
    createdBy: text("created_by").notNull(),
    name: text("name").notNull(),
    kind: text("kind", { enum: ["master", "standard"] }).notNull(),
    /** SHA-256 of the key; the key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    createdAt: createdAt(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_uq").on(t.keyHash), index("api_keys_team_idx").on(t.teamId)],
);

/**
 * An invitation to join a team (Settings → Team). Only the SHA-256 of its token is stored: the link is
 * shown once to the admin who made it. At most one pending (not accepted, not revoked) invite per team
 * and address (`invites_pending_uq`); accepting is a conditional update on `accepted_at IS NULL`.
 */
export const invites = sqliteTable(
  "invites",
  {
    id: id(),
    teamId: teamId(),
    /** Lowercased. */
    email: text("email").notNull(),
    name: text("name"),
    role: text("role", { enum: ["admin", "member"] }).notNull(),
    invitedBy: text("invited_by").notNull(),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at").notNull(),
    acceptedAt: integer("accepted_at"),
    revokedAt: integer("revoked_at"),
    /** The user the invite made, once accepted. */
    userId: text("user_id"),
  },
  (t) => [
    uniqueIndex("invites_token_uq").on(t.tokenHash),
    uniqueIndex("invites_pending_uq")
      .on(t.teamId, t.email)
      .where(sql`accepted_at IS NULL AND revoked_at IS NULL`),
  ],
);

/**
 * A password reset link an admin issued for a user of their team (Seqflare sends no email: the admin
 * copies it to them). Only the token's SHA-256 is stored; used once; a newer one revokes it.
 */
export const passwordResets = sqliteTable(
  "password_resets",
  {
    id: id(),
    teamId: teamId(),
    userId: text("user_id").notNull(),
    createdBy: text("created_by").notNull(),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("password_resets_token_uq").on(t.tokenHash), index("password_resets_user_idx").on(t.userId)],
);

export const loginAttempts = sqliteTable(
  "login_attempts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    email: text("email").notNull(),
    ip: text("ip").notNull(),
    success: integer("success", { mode: "boolean" }).notNull(),
    at: integer("at").notNull(),
  },
  (t) => [index("login_attempts_email_idx").on(t.email, t.at), index("login_attempts_ip_idx").on(t.ip, t.at)],
);

/**
 * A contact's full name ("first last", so "ann lee" finds Ann Lee), email and company as one lowercased
 * text with its accents taken off (foldSql: "Élodie Müller" is "elodie muller"), those joined by char(1)
 * (a control character no search holds: services/contacts.ts searches it only then). `instr` over it
 * finds what `instr` over the full name and each other field finds, and `contacts_team_search_idx`
 * holds it (migration 0061), so counting a search reads the index instead of every contact, and SQLite
 * folds it on every write (API, CSV import, people saved, the Apollo facade) with no writer doing so.
 */
export const CONTACT_SEARCH_TEXT = foldSql(
  "lower(first_name || ' ' || last_name || char(1) || coalesce(email, '') || char(1) || coalesce(company, ''))",
);

/** A contact's email domain, lowercased (what comes after the first @), as contacts_team_domain_idx indexes it. */
export const EMAIL_DOMAIN = "lower(substr(email, instr(email, '@') + 1))";

/**
 * A contact's last and first names as the Contacts page sorts them: lower-cased with their accents taken
 * off (foldSql, with the rarer capitals of SORT_FOLDS as well), so Élodie sorts among the e's and "de Vries" among the d's, not after Z (a binary order
 * puts every capital before every small letter and every accented letter after both).
 * contacts_team_folded_name_idx holds them (migration 0063); an ORDER BY reaches it only with the same expressions.
 */
export const CONTACT_LAST_NAME_FOLDED = foldSql("lower(last_name)", SORT_FOLDS);
export const CONTACT_FIRST_NAME_FOLDED = foldSql("lower(first_name)", SORT_FOLDS);

/** A person's company lower-cased with its accents taken off (foldSql), as people_company_folded_idx holds it. */
export const PEOPLE_COMPANY_FOLDED = foldSql("lower(company)");

/** The shared prospect database the Prospect Searcher searches. Not team-owned. */
export const people = sqliteTable(
  "people",
  {
    id: id(),
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    title: text("title").notNull(),
    seniority: text("seniority").notNull(),
    department: text("department").notNull(),
    company: text("company").notNull(),
    domain: text("domain").notNull(),
    industry: text("industry").notNull(),
    employees: integer("employees").notNull(),
    city: text("city").notNull(),
    country: text("country").notNull(),
    timeZone: text("time_zone").notNull(),
    email: text("email"),
    emailStatus: text("email_status", { enum: ["verified", "unverified", "guessed", "unavailable"] }).notNull(),
    score: integer("score").notNull(),
    linkedinUrl: text("linkedin_url"),
    jobChangedAt: integer("job_changed_at"),
  },
  (t) => [
    index("people_score_idx").on(t.score),
    index("people_country_city_idx").on(t.country, t.city),
    index("people_seniority_dept_idx").on(t.seniority, t.department, t.score),
    index("people_industry_emp_idx").on(t.industry, t.employees),
    index("people_company_idx").on(t.company),
    // The company filter, case- and accent-blind (services/people-search.ts; the query's expression must be PEOPLE_COMPANY_FOLDED).
    index("people_company_folded_idx").on(sql.raw(PEOPLE_COMPANY_FOLDED)),
    index("people_email_status_idx").on(t.emailStatus, t.score),
    // Covering indexes for the commonest filter mixes, so their total counts never touch the table.
    index("people_country_seniority_status_idx").on(t.country, t.seniority, t.emailStatus, t.score),
    index("people_industry_employees_score_idx").on(t.industry, t.employees, t.score),
    // A search page in score order (score DESC, then id, as the page sorts) walks this index from the
    // top and stops after its page, instead of reading and sorting every match (services/people-search.ts).
    index("people_score_id_idx").on(sql`${sql.identifier("score")} DESC`, t.id),
  ],
);

/** Apollo-style contact stages; category drives validation (dnc = skip, blocked = warning). */
export const contactStages = sqliteTable(
  "contact_stages",
  {
    id: id(),
    teamId: teamId(),
    name: text("name").notNull(),
    category: text("category", { enum: ["open", "in_progress", "succeeded", "failed", "blocked", "dnc"] }).notNull(),
    position: integer("position").notNull(),
  },
  (t) => [uniqueIndex("contact_stages_team_name_uq").on(t.teamId, t.name)],
);

export const contacts = sqliteTable(
  "contacts",
  {
    id: id(),
    teamId: teamId(),
    personId: text("person_id"),
    ownerId: text("owner_id"),
    stageId: text("stage_id"),
    firstName: text("first_name").notNull().default(""),
    lastName: text("last_name").notNull().default(""),
    title: text("title"),
    company: text("company"),
    domain: text("domain"),
    industry: text("industry"),
    employees: integer("employees"),
    city: text("city"),
    country: text("country"),
    timeZone: text("time_zone"),
    email: text("email"),
    emailStatus: text("email_status", { enum: ["verified", "unverified", "guessed", "unavailable"] })
      .notNull()
      .default("unavailable"),
    phone: text("phone"),
    linkedinUrl: text("linkedin_url"),
    score: integer("score").notNull().default(0),
    unsubscribedAt: integer("unsubscribed_at"),
    bouncedAt: integer("bounced_at"),
    jobChangedAt: integer("job_changed_at"),
    source: text("source").notNull().default("manual"),
    /** Values of CSV columns kept as custom fields, by key (`{{custom.<key>}}` in templates). */
    customFields: text("custom_fields", { mode: "json" })
      .$type<Record<string, string>>()
      .notNull()
      .default(sql`'{}'`),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
    deletedAt: integer("deleted_at"),
  },
  (t) => [
    uniqueIndex("contacts_team_person_uq").on(t.teamId, t.personId),
    // Every lookup by address compares lower(email) (an address is one whatever its case: unsubscribes,
    // replies, imports, meetings); deleted_at last, so a lookup of live contacts by address is served whole.
    index("contacts_team_email_idx").on(t.teamId, sql.raw("lower(email)"), t.deletedAt),
    index("contacts_team_owner_idx").on(t.teamId, t.ownerId),
    // With id: the contacts page's newest-first order, ties included, read straight from the index.
    index("contacts_team_created_idx").on(t.teamId, t.createdAt, t.id),
    // The page sorted by name (accent- and case-blind: CONTACT_LAST_NAME_FOLDED), and by score (highest first), read
    // down an index to the page instead of sorting every contact of the team for each page (services/contacts.ts
    // searchContacts and searchContactIds; the orders must match).
    index("contacts_team_folded_name_idx").on(t.teamId, sql.raw(CONTACT_LAST_NAME_FOLDED), sql.raw(CONTACT_FIRST_NAME_FOLDED), t.id),
    index("contacts_team_score_idx").on(t.teamId, sql`${t.score} desc`, t.id),
    // The Contacts page's total (a team's live contacts) read from the index alone: 0.5 ms instead of 5.8 ms over 5,000 contacts.
    index("contacts_team_live_idx").on(t.teamId, t.deletedAt),
    // An import's rows without an email meet the team's live contacts by first name + last name + company,
    // whatever their case (services/imports/process.ts), read from here instead of the team's every contact.
    index("contacts_team_name_company_idx").on(
      t.teamId,
      sql.raw("lower(first_name)"),
      sql.raw("lower(last_name)"),
      sql.raw("lower(company)"),
      t.deletedAt,
    ),
    // "Name, email or company contains": one lowercased text per contact, read from the index alone
    // when a search is counted (services/contacts.ts CONTACT_SEARCH_TEXT; the expression must match it).
    index("contacts_team_search_idx").on(t.teamId, t.deletedAt, sql.raw(CONTACT_SEARCH_TEXT)),
    // A reply's colleagues: the contacts at one email domain (services/replies.ts; the query's expression must be EMAIL_DOMAIN).
    index("contacts_team_domain_idx").on(t.teamId, sql.raw(EMAIL_DOMAIN)),
  ],
);

export const lists = sqliteTable(
  "lists",
  {
    id: id(),
    teamId: teamId(),
    ownerId: text("owner_id").notNull(),
    name: text("name").notNull(),
    /**
     * Its members counted, kept by SQLite triggers on list_members (migrations/0028_list_contact_count.sql):
     * the lists page read every member of every list on it.
     */
    contactCount: integer("contact_count").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("lists_team_name_uq").on(t.teamId, t.name)],
);

export const listMembers = sqliteTable(
  "list_members",
  {
    listId: text("list_id").notNull(),
    contactId: text("contact_id").notNull(),
    teamId: teamId(),
    addedAt: integer("added_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.listId, t.contactId] }), index("list_members_contact_idx").on(t.contactId)],
);

export const schedules = sqliteTable(
  "schedules",
  {
    id: id(),
    teamId: teamId(),
    name: text("name").notNull(),
    timeZone: text("time_zone").notNull(),
    /** Per ISO weekday (1 = Monday … 7 = Sunday): sending windows as "HH:MM" pairs. */
    windows: text("windows", { mode: "json" }).$type<Record<string, [string, string][]>>().notNull(),
    /** Custom holiday dates, "YYYY-MM-DD", in the schedule's zone. */
    holidays: text("holidays", { mode: "json" })
      .$type<string[]>()
      .notNull()
      .default(sql`'[]'`),
    /** Built-in holiday calendar ("US", "GB", … or "none"). */
    holidayCalendar: text("holiday_calendar").notNull().default("none"),
    useContactTimeZone: integer("use_contact_time_zone", { mode: "boolean" }).notNull().default(false),
    isDefault: integer("is_default", { mode: "boolean" }).notNull().default(false),
    /** Who made it: they and admins may change it (null for the team's seeded schedules: admins only). */
    createdBy: text("created_by"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("schedules_team_name_uq").on(t.teamId, t.name)],
);

export const sequences = sqliteTable(
  "sequences",
  {
    id: id(),
    teamId: teamId(),
    ownerId: text("owner_id").notNull(),
    name: text("name").notNull(),
    active: integer("active", { mode: "boolean" }).notNull().default(false),
    archivedAt: integer("archived_at"),
    scheduleId: text("schedule_id"),
    /** Rules: finish on reply, ownership permission for adding contacts, etc. */
    settings: text("settings", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    /**
     * Moves on every change to what the engine reads of the sequence (loadSequenceConfig): the row's
     * state, its steps, deleted steps, the team's schedules. Kept by D1 triggers (migration 0033) for
     * every writer; a SequenceDO keeps its config while the number it last read is still D1's.
     */
    configRev: integer("config_rev").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("sequences_team_idx").on(t.teamId, t.archivedAt),
    index("sequences_owner_idx").on(t.teamId, t.ownerId),
    // The cron's repair of turn-on and archive (services/sequences.ts, repairSequenceEngines) walks only
    // the sequences that are on, and those archived, never the whole table each minute.
    index("sequences_on_idx")
      .on(t.id)
      .where(sql`active = 1 AND archived_at IS NULL`),
    index("sequences_archived_idx")
      .on(t.id)
      .where(sql`archived_at IS NOT NULL`),
  ],
);

export const sequenceShares = sqliteTable(
  "sequence_shares",
  {
    sequenceId: text("sequence_id").notNull(),
    userId: text("user_id").notNull(),
    teamId: teamId(),
    access: text("access", { enum: ["view", "edit"] }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sequenceId, t.userId] }), index("sequence_shares_user_idx").on(t.userId)],
);

export const STEP_TYPES = ["auto_email", "manual_email", "call", "linkedin_connect", "linkedin_message", "linkedin_view", "task"] as const;

export const steps = sqliteTable(
  "steps",
  {
    id: id(),
    teamId: teamId(),
    sequenceId: text("sequence_id").notNull(),
    position: integer("position").notNull(),
    type: text("type", { enum: STEP_TYPES }).notNull(),
    waitAmount: integer("wait_amount").notNull().default(0),
    waitUnit: text("wait_unit", { enum: ["minutes", "hours", "days"] })
      .notNull()
      .default("days"),
    businessDays: integer("business_days", { mode: "boolean" }).notNull().default(false),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** Follow-up emails: reply in the thread of the previous email step. */
    threadReply: integer("thread_reply", { mode: "boolean" }).notNull().default(false),
    note: text("note").notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [index("steps_sequence_idx").on(t.sequenceId, t.position)],
);

export const stepVariants = sqliteTable(
  "step_variants",
  {
    id: id(),
    teamId: teamId(),
    stepId: text("step_id").notNull(),
    label: text("label").notNull(),
    subject: text("subject").notNull().default(""),
    body: text("body").notNull().default(""),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    createdAt: createdAt(),
  },
  // One letter per variant of a step: the A/B report, the winner and the editor name a variant by it.
  // The unique index also serves every read of a step's variants (step_id first), so it replaces the
  // plain one on step_id.
  (t) => [uniqueIndex("step_variants_step_label_uq").on(t.stepId, t.label)],
);

/**
 * A deleted step's place in its sequence: the step that came after it when it was deleted (null: it was
 * the last). Positions close up when a step goes, so a contact on the deleted step can't be placed by
 * position; the engine follows this instead (nextEnabledStep), and never skips the step after it.
 */
export const deletedSteps = sqliteTable(
  "deleted_steps",
  {
    id: id(),
    teamId: teamId(),
    sequenceId: text("sequence_id").notNull(),
    nextStepId: text("next_step_id"),
    deletedAt: integer("deleted_at").notNull(),
  },
  (t) => [index("deleted_steps_sequence_idx").on(t.sequenceId)],
);

export const mailboxes = sqliteTable(
  "mailboxes",
  {
    id: id(),
    teamId: teamId(),
    userId: text("user_id").notNull(),
    email: text("email").notNull(),
    senderName: text("sender_name").notNull(),
    signature: text("signature").notNull().default(""),
    /** gmail / graph: connected by OAuth (worker/routes/oauth.ts), sending through the provider's API. */
    transport: text("transport", { enum: ["outbox", "smtp", "send_email", "gmail", "graph"] })
      .notNull()
      .default("outbox"),
    /** SMTP settings without the password (host, port, security, username); for gmail / graph the reply-polling cursor. */
    transportConfig: text("transport_config", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    /** SMTP password, or for gmail / graph the OAuth tokens (JSON), sealed with AES-GCM under APP_SECRET; never returned by the API. */
    secretCiphertext: text("secret_ciphertext"),
    dailyLimit: integer("daily_limit").notNull().default(50),
    hourlyLimit: integer("hourly_limit").notNull().default(20),
    minGapSeconds: integer("min_gap_seconds").notNull().default(60),
    jitterSeconds: integer("jitter_seconds").notNull().default(30),
    /**
     * needs_reconnect: the OAuth grant was revoked or expired; held like disconnected until the owner signs in again.
     * removed: removed by a user (DELETE /mailboxes/{id}): its secret deleted, never sent from nor polled again, kept
     * only so the emails it sent still name it; not listed, and its address may be connected again as a new row.
     */
    status: text("status", { enum: ["connected", "disconnected", "paused", "needs_reconnect", "removed"] })
      .notNull()
      .default("connected"),
    statusReason: text("status_reason"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  // One live mailbox per address: a removed one keeps its row (history) without holding the address.
  (t) => [
    uniqueIndex("mailboxes_team_email_uq")
      .on(t.teamId, t.email)
      .where(sql`status <> 'removed'`),
  ],
);

export const ENROLLMENT_STATUSES = ["scheduled", "active", "paused", "held", "finished", "failed", "removed"] as const;

export const enrollments = sqliteTable(
  "enrollments",
  {
    id: id(),
    teamId: teamId(),
    sequenceId: text("sequence_id").notNull(),
    contactId: text("contact_id").notNull(),
    mailboxId: text("mailbox_id"),
    status: text("status", { enum: ENROLLMENT_STATUSES }).notNull(),
    /** Position of the step the contact is on (1-based); 0 before step 1 is due. */
    currentStep: integer("current_step").notNull().default(0),
    nextDueAt: integer("next_due_at"),
    /** Reason code when not progressing or when finished (invariant 10). */
    reason: text("reason"),
    jobId: text("job_id"),
    addedBy: text("added_by"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
    finishedAt: integer("finished_at"),
  },
  (t) => [
    // Invariant 1 backstop in D1 ("at most once at a time": finished and removed enrollments stay as
    // history and the contact can be added again); the SequenceDO is the single writer that dedupes first.
    uniqueIndex("enrollments_sequence_contact_open_uq")
      .on(t.sequenceId, t.contactId)
      .where(sql`status IN ('scheduled', 'active', 'paused', 'held')`),
    index("enrollments_sequence_contact_idx").on(t.sequenceId, t.contactId),
    // A sequence's enrollments page in its default order (last change first, ties by id the same way):
    // walked to its page instead of sorting every enrollment of the sequence (test/api/enrollments-page-reads).
    index("enrollments_sequence_updated_idx").on(t.sequenceId, t.updatedAt, t.id),
    index("enrollments_team_status_idx").on(t.teamId, t.status),
    index("enrollments_contact_idx").on(t.contactId, t.status),
    // No due time in it: every step done moves next_due_at, and no read walks a mailbox's rows in that order
    // (the scheduled list orders by coalesce(next_due_at, …), which no index serves). Migration 0031.
    index("enrollments_mailbox_status_idx").on(t.mailboxId, t.status),
    // Covering index for the sequence report (contacts by status, funnel) and the team report (added by whom);
    // also a sequence's enrollments by status (it starts with both, so no (sequence_id, status) index of its own).
    index("enrollments_sequence_report_idx").on(t.sequenceId, t.status, t.currentStep, t.reason, t.createdAt, t.addedBy, t.mailboxId),
    index("enrollments_team_created_idx").on(t.teamId, t.createdAt, t.addedBy, t.sequenceId),
  ],
);

export const messages = sqliteTable(
  "messages",
  {
    id: id(),
    teamId: teamId(),
    enrollmentId: text("enrollment_id").notNull(),
    sequenceId: text("sequence_id").notNull(),
    stepId: text("step_id").notNull(),
    variantId: text("variant_id"),
    mailboxId: text("mailbox_id").notNull(),
    contactId: text("contact_id").notNull(),
    toEmail: text("to_email").notNull(),
    subject: text("subject").notNull(),
    body: text("body").notNull(),
    /** Deterministic RFC 5322 Message-ID, also used to match replies. */
    messageIdHeader: text("message_id_header").notNull(),
    inReplyTo: text("in_reply_to"),
    raw: text("raw"),
    status: text("status", { enum: ["scheduled", "sending", "sent", "failed", "bounced", "unknown", "cancelled"] }).notNull(),
    error: text("error"),
    scheduledAt: integer("scheduled_at"),
    sentAt: integer("sent_at"),
    /** First answer to this email (inbound classification): a reply or an out-of-office; reports count these. */
    repliedAt: integer("replied_at"),
    replyKind: text("reply_kind", { enum: ["reply", "out_of_office"] }),
    /** When the person opted out from this email (its unsubscribe link, or a reply asking to): the reports count these. */
    unsubscribedAt: integer("unsubscribed_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("messages_enrollment_step_uq").on(t.enrollmentId, t.stepId), // invariant 4 backstop
    uniqueIndex("messages_message_id_uq").on(t.messageIdHeader),
    // No (team, status) index: the outbox's counts by status are kept (team_message_counts), and its pages
    // and every other count walk messages_team_sent_idx; one b-tree write fewer per email (migration 0029).
    index("messages_mailbox_status_idx").on(t.mailboxId, t.status, t.scheduledAt),
    // A contact's emails (their timeline, the outbox filtered by contact) without walking the team's.
    index("messages_contact_sent_idx").on(t.contactId, t.sentAt),
    // Covering indexes for the reports: a sequence's sends, a team's latest replies, a team's sends by day.
    index("messages_sequence_report_idx").on(t.sequenceId, t.sentAt, t.stepId, t.variantId, t.mailboxId, t.status, t.replyKind),
    // Replied emails only (every read of it asks for replied_at): an email is inserted without a reply, so
    // sending writes no entry here (migration 0031).
    index("messages_team_replied_idx")
      .on(t.teamId, t.repliedAt, t.replyKind, t.sequenceId)
      .where(sql`replied_at IS NOT NULL`),
    index("messages_team_sent_idx").on(t.teamId, t.sentAt, t.sequenceId, t.mailboxId, t.status, t.replyKind),
  ],
);

/**
 * Sent emails counted per (sequence, UTC day, step, variant, mailbox): the reports read these few rows
 * instead of every email. Kept by SQLite triggers on `messages` (migrations/0008_report_rollup.sql; since 0041 a mailbox's
 * test email, sequence_id '', is left out), so every writer of
 * messages (the MailboxDO's mirror, the inbound handler, the seed) keeps it right without knowing it.
 * `variant_id` is '' for emails without a variant.
 */
export const reportRollup = sqliteTable(
  "report_rollup",
  {
    sequenceId: text("sequence_id").notNull(),
    day: integer("day").notNull(),
    stepId: text("step_id").notNull(),
    variantId: text("variant_id").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    teamId: teamId(),
    sent: integer("sent").notNull().default(0),
    bounced: integer("bounced").notNull().default(0),
    replied: integer("replied").notNull().default(0),
    outOfOffice: integer("out_of_office").notNull().default(0),
    /** Emails the person opted out from (messages.unsubscribed_at; migration 0042). */
    unsubscribed: integer("unsubscribed").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.sequenceId, t.day, t.stepId, t.variantId, t.mailboxId] }),
    index("report_rollup_team_day_idx").on(t.teamId, t.day),
  ],
);

/**
 * A sequence's enrollments by status and its emails sent, bounced and replied to, one row per sequence:
 * the sequence list reads these instead of walking every enrollment and every email of each sequence on
 * the page (which grew with everything a team ever sent). Kept by SQLite triggers on `enrollments`
 * and `messages` (migrations/0023_sequence_counts.sql), like the rollup, so every writer keeps it
 * right without knowing it. Since 0057 the emails are counted as the report's rollup counts them
 * (report_rollup, summed over the sequence): `sent` is every email that went out, bounced ones included
 * (status sent or bounced, with a sent time; not a test email), `bounced` those that bounced, `replied`
 * those answered with a reply (not an out-of-office).
 */
export const sequenceCounts = sqliteTable("sequence_counts", {
  sequenceId: text("sequence_id").primaryKey(),
  scheduled: integer("scheduled").notNull().default(0),
  active: integer("active").notNull().default(0),
  paused: integer("paused").notNull().default(0),
  held: integer("held").notNull().default(0),
  finished: integer("finished").notNull().default(0),
  failed: integer("failed").notNull().default(0),
  removed: integer("removed").notNull().default(0),
  sent: integer("sent").notNull().default(0),
  bounced: integer("bounced").notNull().default(0),
  replied: integer("replied").notNull().default(0),
});

/**
 * A team's live contacts counted, one row per team: the contacts page's total when nothing filters it,
 * instead of counting the team's whole address book on every page. Kept by SQLite triggers on
 * `contacts` (migrations/0024_team_counts.sql), so every writer (the API, CSV imports, people saved as
 * contacts, deletion) keeps it right without knowing it.
 */
export const teamCounts = sqliteTable("team_counts", {
  teamId: text("team_id").primaryKey(),
  contacts: integer("contacts").notNull().default(0),
});

/**
 * A team's emails counted by status: the outbox's total when nothing but a status filters it, instead
 * of counting every email the team ever sent on every page. Kept by SQLite triggers on `messages`
 * (migrations/0026_team_message_counts.sql), like `sequence_counts`.
 */
export const teamMessageCounts = sqliteTable(
  "team_message_counts",
  {
    teamId: text("team_id").notNull(),
    status: text("status").notNull(),
    n: integer("n").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.status] })],
);

/**
 * A sequence's enrollments counted by (status, reason, mailbox): the enrollments page's chips add these
 * up (the same filters, over a few rows per sequence) instead of walking every enrollment of the
 * sequence on every page. Kept by SQLite triggers on `enrollments`
 * (migrations/0027_enrollment_groups.sql). No reason or mailbox is stored as '' (a key part).
 */
export const enrollmentGroups = sqliteTable(
  "enrollment_groups",
  {
    sequenceId: text("sequence_id").notNull(),
    status: text("status").notNull(),
    reason: text("reason").notNull(),
    mailboxId: text("mailbox_id").notNull(),
    teamId: teamId(),
    n: integer("n").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.sequenceId, t.status, t.reason, t.mailboxId] })],
);

export const tasks = sqliteTable(
  "tasks",
  {
    id: id(),
    teamId: teamId(),
    enrollmentId: text("enrollment_id"),
    sequenceId: text("sequence_id"),
    stepId: text("step_id"),
    contactId: text("contact_id"),
    assigneeId: text("assignee_id").notNull(),
    type: text("type").notNull(),
    note: text("note").notNull().default(""),
    dueAt: integer("due_at").notNull(),
    status: text("status", { enum: ["open", "completed", "skipped", "cancelled"] })
      .notNull()
      .default("open"),
    completedAt: integer("completed_at"),
    // The logged call's outcome a completed task was done with, written with its completion: the run's
    // end (meeting_booked, not_interested) survives a sequence that wasn't told (the reconciler reads it).
    outcome: text("outcome"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("tasks_enrollment_step_uq").on(t.enrollmentId, t.stepId),
    index("tasks_assignee_due_idx").on(t.teamId, t.assigneeId, t.status, t.dueAt),
    index("tasks_sequence_step_idx").on(t.sequenceId, t.stepId, t.status, t.completedAt),
    // A contact's tasks (their timeline) without scanning the table.
    index("tasks_contact_created_idx").on(t.contactId, t.createdAt),
  ],
);

/** Who asked for a background job, as stored on it: re-authorized as they are now (auth.ts callerNow) each time it acts. */
export type StoredCaller = {
  userId: string;
  role: "admin" | "member";
  via: "session" | "api_key";
  apiKeyId?: string;
  apiKeyKind?: "master" | "standard";
};

export const jobs = sqliteTable(
  "jobs",
  {
    id: id(),
    teamId: teamId(),
    userId: text("user_id"),
    /**
     * Who committed the job (a session or an API key, with the key's kind): a scheduled job starts, and each
     * chunk runs, only while they still may (a revoked key stops it). Null on jobs committed before it was kept.
     */
    caller: text("caller", { mode: "json" }).$type<StoredCaller>(),
    kind: text("kind").notNull().default("add_contacts"),
    sequenceId: text("sequence_id"),
    source: text("source", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    options: text("options", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: ["preparing", "scheduled", "queued", "running", "completed", "failed", "cancelled"] }).notNull(),
    runAt: integer("run_at"),
    total: integer("total").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    enrolled: integer("enrolled").notNull().default(0),
    warned: integer("warned").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    /** Credits held at commit: the job's maximum possible spend (invariant 6). */
    creditsHeld: integer("credits_held").notNull().default(0),
    creditsUsed: integer("credits_used").notNull().default(0),
    idempotencyKey: text("idempotency_key"),
    error: text("error"),
    createdAt: createdAt(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    /** An add-contacts job: when a chunk last wrote its outcomes (what the job's screen calls its last progress). */
    progressAt: integer("progress_at"),
    /** An add-contacts job: when the cron last sent its unfinished chunks again after a quiet period (jobs.ts QUIET_MS). */
    resumedAt: integer("resumed_at"),
  },
  (t) => [
    uniqueIndex("jobs_team_idempotency_uq").on(t.teamId, t.idempotencyKey),
    index("jobs_team_created_idx").on(t.teamId, t.createdAt),
    index("jobs_status_run_idx").on(t.status, t.runAt),
    // A sequence's jobs (its in_use and delete checks): by team alone they walked every job of the team, and
    // workflows make one per run.
    index("jobs_team_sequence_idx").on(t.teamId, t.sequenceId),
  ],
);

export const jobOutcomes = sqliteTable(
  "job_outcomes",
  {
    jobId: text("job_id").notNull(),
    idx: integer("idx").notNull(),
    teamId: teamId(),
    contactId: text("contact_id"),
    personId: text("person_id"),
    outcome: text("outcome", { enum: ["enrolled", "warned", "skipped"] }).notNull(),
    reasons: text("reasons", { mode: "json" }).$type<string[]>().notNull(),
    creditCost: integer("credit_cost").notNull().default(0),
    mailboxId: text("mailbox_id"),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.idx] }), index("job_outcomes_outcome_idx").on(t.jobId, t.outcome)],
);

/**
 * The resolved candidates of an add-contacts job, in priority order (score, then id), with the
 * mailbox each is assigned. Queue chunks carry index ranges of this table, never the rows.
 */
export const jobCandidates = sqliteTable(
  "job_candidates",
  {
    jobId: text("job_id").notNull(),
    idx: integer("idx").notNull(),
    teamId: teamId(),
    personId: text("person_id"),
    contactId: text("contact_id"),
    mailboxId: text("mailbox_id"),
    /**
     * Why the job's candidate query left it out, as bits (candidates.ts): 1 = another candidate of higher priority
     * has this address (duplicate_email); 2 = asked to skip same-company contacts, and a colleague is open in the
     * sequence or of higher priority in the job (same_company). Was a boolean: existing rows are 0 or 1.
     */
    duplicate: integer("duplicate").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.idx] })],
);

/** Waterfall enrichment attempts: one row per (job, contact, provider); successes are charged. */
export const enrichments = sqliteTable(
  "enrichments",
  {
    id: id(),
    teamId: teamId(),
    jobId: text("job_id").notNull(),
    contactId: text("contact_id").notNull(),
    provider: text("provider").notNull(),
    success: integer("success", { mode: "boolean" }).notNull(),
    cost: integer("cost").notNull().default(0),
    email: text("email"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("enrichments_job_contact_provider_uq").on(t.jobId, t.contactId, t.provider),
    index("enrichments_team_created_idx").on(t.teamId, t.createdAt),
  ],
);

export const creditLedger = sqliteTable(
  "credit_ledger",
  {
    id: id(),
    teamId: teamId(),
    kind: text("kind", { enum: ["grant", "hold", "charge", "refund", "adjust"] }).notNull(),
    /** Signed: negative takes credits from the balance, positive returns or grants them. */
    amount: integer("amount").notNull(),
    balanceAfter: integer("balance_after").notNull(),
    jobId: text("job_id"),
    source: text("source").notNull().default("manual"),
    provider: text("provider"),
    /** Exactly-once key: a retried operation writes the same ref and is ignored. */
    ref: text("ref").notNull(),
    note: text("note").notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("credit_ledger_ref_uq").on(t.teamId, t.ref), index("credit_ledger_team_created_idx").on(t.teamId, t.createdAt)],
);

/** Suppressed addresses outlive their contacts (invariant 5): keyed by email, not contact. */
export const suppressions = sqliteTable(
  "suppressions",
  {
    id: id(),
    teamId: teamId(),
    email: text("email").notNull(),
    reason: text("reason", { enum: ["unsubscribed", "bounced", "dnc", "manual", "complaint"] }).notNull(),
    source: text("source").notNull().default("manual"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("suppressions_team_email_uq").on(t.teamId, t.email)],
);

/**
 * Saved emails a rep inserts into a step (services/email-templates.ts): private to their owner, or shared with
 * the whole team. Only the text is kept; a step copies it, so changing a template changes no step.
 */
export const emailTemplates = sqliteTable(
  "email_templates",
  {
    id: id(),
    teamId: teamId(),
    ownerId: text("owner_id").notNull(),
    name: text("name").notNull(),
    subject: text("subject").notNull().default(""),
    body: text("body").notNull(),
    shared: integer("shared", { mode: "boolean" }).notNull().default(false),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  // The list is read per team (shared ones and the caller's own) by name.
  (t) => [index("email_templates_team_name_idx").on(t.teamId, t.name)],
);

export const workflows = sqliteTable(
  "workflows",
  {
    id: id(),
    teamId: teamId(),
    ownerId: text("owner_id").notNull(),
    name: text("name").notNull(),
    sequenceId: text("sequence_id").notNull(),
    filters: text("filters", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    options: text("options", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    intervalMinutes: integer("interval_minutes").notNull().default(1440),
    maxPerRun: integer("max_per_run").notNull().default(100),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    nextRunAt: integer("next_run_at"),
    lastRunAt: integer("last_run_at"),
    /** "schedule": runs every interval over a people search; "change": runs once per logged contact change that matches. */
    triggerKind: text("trigger_kind", { enum: ["schedule", "change"] })
      .notNull()
      .default("schedule"),
    /** For "change": which changes (created / stage / field, optionally which fields) and the contact filters they must match. */
    trigger: text("trigger", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    /** For "change": the last contact_changes id this workflow has looked at. */
    changeCursor: integer("change_cursor").notNull().default(0),
    /**
     * For "change": ticks in a row whose look at the changes failed (reset by one that works). Such a
     * workflow is looked at after the others, so it can't hold them up, and is turned off after a few.
     */
    checkFailures: integer("check_failures").notNull().default(0),
    /** Why the workflow was turned off by a run rather than by a user (its owner lost the sequence or was disabled). */
    offReason: text("off_reason"),
    createdAt: createdAt(),
  },
  (t) => [index("workflows_due_idx").on(t.active, t.nextRunAt), index("workflows_team_idx").on(t.teamId)],
);

/**
 * The change log condition-triggered workflows read: one row per contact created, stage changed or
 * field changed, written by D1 triggers on `contacts` (migration 0011) in the same transaction as the
 * change, whoever makes it (API, Apollo facade, add-contacts, CSV import), and only while the team
 * has a change workflow on. A workflow runs at most once per row (workflow_runs_change_uq).
 */
export const contactChanges = sqliteTable(
  "contact_changes",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    teamId: teamId(),
    contactId: text("contact_id").notNull(),
    kind: text("kind", { enum: ["created", "stage", "field"] }).notNull(),
    /** For "field": the changed columns, comma-separated. */
    fields: text("fields"),
    stageId: text("stage_id"),
    at: integer("at").notNull(),
  },
  (t) => [index("contact_changes_team_idx").on(t.teamId, t.id), index("contact_changes_at_idx").on(t.at)],
);

export const workflowRuns = sqliteTable(
  "workflow_runs",
  {
    id: id(),
    teamId: teamId(),
    workflowId: text("workflow_id").notNull(),
    /** The run slot this run claims; the unique index is the lease that stops a double run. */
    slot: integer("slot").notNull(),
    status: text("status", { enum: ["running", "completed", "failed"] }).notNull(),
    jobId: text("job_id"),
    found: integer("found").notNull().default(0),
    added: integer("added").notNull().default(0),
    skipped: integer("skipped").notNull().default(0),
    reason: text("reason"),
    leaseUntil: integer("lease_until").notNull(),
    startedAt: integer("started_at").notNull(),
    finishedAt: integer("finished_at"),
    /** The contact change that triggered this run (change workflows); unique per workflow: one run per change. */
    changeId: integer("change_id"),
    contactId: text("contact_id"),
    changeKind: text("change_kind"),
    /**
     * Change runs: the contacts the run claimed (a JSON array), written with the claim, so a tick that dies
     * before the run's job is committed leaves them for the retry: one run (and one job) per tick's batch of
     * changes, not one per change. Null on runs from before batching (their one contact is contact_id).
     */
    contactIds: text("contact_ids"),
    /** Change runs: how often the run has been tried (a failed or interrupted run without a job is tried again, a bounded number of times). */
    attempts: integer("attempts").notNull().default(1),
  },
  (t) => [
    uniqueIndex("workflow_runs_slot_uq").on(t.workflowId, t.slot),
    uniqueIndex("workflow_runs_change_uq").on(t.workflowId, t.changeId),
    index("workflow_runs_team_idx").on(t.teamId, t.startedAt),
    // A contact's timeline names the workflow whose job added it (workflowOfJobs): by team and job id, each
    // job is looked up, not every run the team's workflows ever had (runs are kept).
    index("workflow_runs_job_idx").on(t.teamId, t.jobId),
    // Every tick looks for change runs due another try and for runs whose lease ran out: through these,
    // it reads those runs alone, not every run a workflow ever had (runs are kept).
    index("workflow_runs_retry_idx")
      .on(t.workflowId, t.finishedAt)
      .where(sql`status = 'failed' AND job_id IS NULL`),
    index("workflow_runs_running_idx")
      .on(t.leaseUntil)
      .where(sql`status = 'running'`),
  ],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: id(),
    teamId: teamId(),
    userId: text("user_id"),
    apiKeyId: text("api_key_id"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    details: text("details", { mode: "json" })
      .$type<Record<string, unknown>>()
      .notNull()
      .default(sql`'{}'`),
    createdAt: createdAt(),
  },
  (t) => [
    index("audit_log_team_created_idx").on(t.teamId, t.createdAt),
    // A contact's timeline reads its entries newest first (services/timeline.ts): without this it scans the team's whole log.
    index("audit_log_target_idx").on(t.teamId, t.targetType, t.targetId, t.createdAt),
  ],
);

/**
 * Stored answers to POSTs sent with an Idempotency-Key (same key + same body → same answer).
 * A record belongs to one principal (a user's session or one API key): nobody else can replay it.
 * `grants` lists the authorization checks the first request passed; a replay re-runs them first.
 * `body` is null when the answer was not kept (`withheld` says why): those are never replayed.
 * Records are deleted 24 hours after their request (cron), the created_at index finding them.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    teamId: teamId(),
    /** "user:<id>" for a session, "key:<id>" for an API key. */
    principal: text("principal").notNull(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    status: integer("status").notNull(),
    body: text("body"),
    grants: text("grants", { mode: "json" })
      .$type<{ action: string; id?: string }[]>()
      .notNull()
      .default(sql`'[]'`),
    /**
     * Why a finished request's answer is not kept (body null): it held a secret (shown once), it was too large
     * to keep, or storing it failed (the request ran; a retry must not run it again blindly).
     */
    withheld: text("withheld", { enum: ["secret", "too_large", "unknown"] }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.principal, t.key] }), index("idempotency_keys_created_idx").on(t.createdAt)],
);

export type Role = (typeof users.$inferSelect)["role"];
export type ApiKeyKind = (typeof apiKeys.$inferSelect)["kind"];

/**
 * Uploaded CSV files (the bytes live in R2 under `r2_key`): how to read them (encoding, delimiter),
 * the column mapping, the settings for saving their contacts, and where each queue part starts.
 * An import belongs to its creator (and the team's admins).
 */
export const imports = sqliteTable(
  "imports",
  {
    id: id(),
    teamId: teamId(),
    userId: text("user_id").notNull(),
    fileName: text("file_name").notNull(),
    r2Key: text("r2_key").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    status: text("status", { enum: ["uploaded", "saving", "ready", "failed"] }).notNull(),
    encoding: text("encoding").notNull(),
    delimiter: text("delimiter").notNull(),
    /** Raw header cells and first rows (latin1, decoded with `encoding` when shown). */
    rawHeaders: text("raw_headers", { mode: "json" }).$type<string[]>().notNull(),
    rawSample: text("raw_sample", { mode: "json" }).$type<string[][]>().notNull(),
    mapping: text("mapping", { mode: "json" }).$type<(string | null)[]>().notNull(),
    settings: text("settings", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** Byte ranges of the parts of PART_ROWS data rows: [{ from, to, row }]. */
    parts: text("parts", { mode: "json" }).$type<{ from: number; to: number; row: number }[]>().notNull(),
    rowCount: integer("row_count").notNull(),
    blankRows: integer("blank_rows").notNull().default(0),
    /** Lines of notes skipped before the header (LinkedIn's Connections export), said in the preview. */
    skippedLines: integer("skipped_lines").notNull().default(0),
    partsDone: integer("parts_done").notNull().default(0),
    saved: integer("saved").notNull().default(0),
    created: integer("created").notNull().default(0),
    updated: integer("updated").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    /** Rows saved with a warning (an Owner or default owner who is no active user of the team, or a list deleted while saving): import_rows.reason says which. */
    warned: integer("warned").notNull().default(0),
    /** Of `updated`, rows matched by name and company to an email-less contact, given the row's address (import_rows.reason says so). */
    filled: integer("filled").notNull().default(0),
    error: text("error"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("imports_team_created_idx").on(t.teamId, t.createdAt),
    // The cron's look for saving imports gone quiet (a lost part message), across teams.
    index("imports_status_updated_idx").on(t.status, t.updatedAt),
  ],
);

/**
 * One line per data row of an import: the contact it saved (or matched), or why it was not imported
 * (column, value, reason). `key` (email, else name + company) finds duplicates inside the file.
 */
export const importRows = sqliteTable(
  "import_rows",
  {
    importId: text("import_id").notNull(),
    row: integer("row").notNull(),
    teamId: teamId(),
    key: text("key"),
    contactId: text("contact_id"),
    outcome: text("outcome", { enum: ["created", "updated", "matched", "error", "duplicate"] }).notNull(),
    column: text("column"),
    value: text("value"),
    reason: text("reason"),
  },
  (t) => [
    primaryKey({ columns: [t.importId, t.row] }),
    index("import_rows_key_idx").on(t.importId, t.key),
    index("import_rows_outcome_idx").on(t.importId, t.outcome),
  ],
);

/** What an inbound email was taken for (services/replies.ts decides; a user may correct it). */
export const INBOUND_CLASSIFICATIONS = ["reply", "out_of_office", "auto_reply", "bounce_hard", "bounce_soft", "unsubscribe"] as const;
export type InboundClassification = (typeof INBOUND_CLASSIFICATIONS)[number];

/** Which header or phrase decided a classification, shown beside it in the replies inbox. */
export interface InboundEvidence {
  rule: string;
  header?: string;
  phrase?: string;
  status?: string;
  /**
   * A reply matched by its sender to a contact in this many open runs from the receiving mailbox, none of
   * which its subject answers alone: stored with no run stopped, until a person says which run it answers
   * (POST /api/replies/{id}/apply-to-run), which removes this.
   */
  held?: number;
}

/**
 * What handling an inbound email changed, so a correction can undo exactly that: the enrollments it
 * finished or paused (with the reason), whether it wrote the suppression, the contact's bounce or
 * unsubscribe mark and stage, and the colleagues' enrollments the sequence's colleague rule touched.
 * The email's counted answer (messages.replied_at) is not kept here: a correction works it out again
 * from the email's inbound emails. Older rows may still hold replyCounted / replyFrom, no longer read.
 */
export interface InboundEffect {
  enrollments?: {
    id: string;
    sequenceId: string;
    action: "finish" | "pause";
    reason: string;
    /** Paused before this finished it (a user's pause, maybe until a date): a correction pauses it again, not active. */
    from?: { status: "paused"; reason: string | null; until: number | null };
  }[];
  suppressed?: "bounced" | "unsubscribed";
  /**
   * An unsubscribe request from someone other than the address emailed (ours was forwarded): their own
   * address was suppressed (this row, which a correction deletes), not the contact's.
   */
  senderSuppressed?: { email: string; id: string };
  contactMarked?: "bounced" | "unsubscribed";
  stageFrom?: string | null;
  messageStatusFrom?: string;
  /** A soft bounce's next try, queued in the mailbox under `key` (null: the mailbox no longer held the email). */
  retry?: { attempt: number; at: number; key: string | null };
  /** An unsubscribe request stamped the email it answered (messages.unsubscribed_at): a correction lifts the stamp. */
  messageUnsubscribed?: boolean;
  /** A correction under way (its lease): another one waits for it, so no two undo and apply the same effect. */
  correcting?: { by: string; at: number };
  /** Never applied, being applied now (a redelivery or the cron, services/replies.ts applyStored): its lease. */
  applying?: number;
}

/** The most of an inbound email's text that is kept (64 KB of ASCII; a D1 row holds far more, a reader needs no more). */
export const INBOUND_BODY_MAX = 65_536;

/**
 * Every inbound email matched to one of our emails (replies, out-of-office and auto-replies, bounce
 * reports, unsubscribe requests): its classification, the evidence, and the effect it had. One row per
 * inbound Message-ID per team, so an email read twice (polling repeats a round) is handled once.
 */
export const inboundMessages = sqliteTable(
  "inbound_messages",
  {
    id: id(),
    teamId: teamId(),
    sequenceId: text("sequence_id").notNull(),
    enrollmentId: text("enrollment_id").notNull(),
    contactId: text("contact_id").notNull(),
    /** Our email it answers (messages.id). */
    messageId: text("message_id").notNull(),
    headerId: text("header_id").notNull(),
    fromEmail: text("from_email").notNull().default(""),
    subject: text("subject").notNull().default(""),
    snippet: text("snippet").notNull().default(""),
    /**
     * The email's full plain text (from its HTML when it has no text part), at most INBOUND_BODY_MAX
     * characters: kept in the row, not R2, so it is stored in the same insert as the row (never one
     * without the other), scoped and deleted with it. Null for emails stored before it was kept.
     */
    body: text("body"),
    /** Whether `body` was cut at INBOUND_BODY_MAX characters. */
    bodyTruncated: integer("body_truncated", { mode: "boolean" }).notNull().default(false),
    /** What the classifier said; `classification` is what stands now (a user's correction wins). */
    detected: text("detected", { enum: INBOUND_CLASSIFICATIONS }).notNull(),
    classification: text("classification", { enum: INBOUND_CLASSIFICATIONS }).notNull(),
    evidence: text("evidence", { mode: "json" }).$type<InboundEvidence>().notNull(),
    returnAt: integer("return_at"),
    bounceStatus: text("bounce_status"),
    effect: text("effect", { mode: "json" })
      .$type<InboundEffect>()
      .notNull()
      .default(sql`'{}'`),
    /** Soft bounces: which retry of the email this was (1..3), and when the next try is due. */
    retryAttempt: integer("retry_attempt").notNull().default(0),
    retryAt: integer("retry_at"),
    receivedAt: integer("received_at").notNull(),
    reviewedAt: integer("reviewed_at"),
    reviewedBy: text("reviewed_by"),
  },
  (t) => [
    uniqueIndex("inbound_messages_header_uq").on(t.teamId, t.headerId),
    index("inbound_messages_team_received_idx").on(t.teamId, t.receivedAt),
    index("inbound_messages_sequence_idx").on(t.sequenceId, t.receivedAt),
    index("inbound_messages_contact_idx").on(t.contactId, t.receivedAt),
    index("inbound_messages_message_idx").on(t.messageId),
    index("inbound_messages_retry_idx").on(t.retryAt),
    // The few rows never acted on (their handler failed after the insert), found every minute by the cron.
    index("inbound_messages_unapplied_idx")
      .on(t.receivedAt)
      .where(sql`json_extract(effect, '$.enrollments') IS NULL`),
  ],
);

/** A meeting booked with a contact (by a user, the API, or a scheduling tool's signed webhook). */
export const meetings = sqliteTable(
  "meetings",
  {
    id: id(),
    teamId: teamId(),
    contactId: text("contact_id").notNull(),
    bookedAt: integer("booked_at").notNull(),
    source: text("source", { enum: ["user", "api", "webhook"] }).notNull(),
    /** The scheduling tool's event id: a repeated webhook for the same event books nothing twice. */
    externalId: text("external_id"),
    createdBy: text("created_by"),
    createdAt: createdAt(),
  },
  (t) => [
    index("meetings_contact_idx").on(t.teamId, t.contactId, t.bookedAt),
    uniqueIndex("meetings_external_uq").on(t.teamId, t.externalId),
  ],
);

/** A team's webhook signing secret (sealed with APP_SECRET: verifying an HMAC needs the secret itself). */
export const webhookSecrets = sqliteTable(
  "webhook_secrets",
  {
    teamId: teamId(),
    kind: text("kind", { enum: ["meetings"] }).notNull(),
    sealed: text("sealed").notNull(),
    /** The first characters, shown so an admin can tell which secret a tool holds. */
    hint: text("hint").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    /** The secret before the last rotation, still accepted until `previous_until` (time to update the tool). */
    previousSealed: text("previous_sealed"),
    previousUntil: integer("previous_until"),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.kind] })],
);

/**
 * Signed meetings webhook requests, as Settings → Meetings webhook lists them: when, which contact (if
 * any) they matched and what came of it. Only verified requests are kept (anyone can post unsigned
 * ones); rows older than 30 days are pruned as new ones come in.
 */
export const meetingWebhookDeliveries = sqliteTable(
  "meeting_webhook_deliveries",
  {
    id: id(),
    teamId: teamId(),
    receivedAt: integer("received_at").notNull(),
    /** What the body named (contact_id or email), as sent. */
    named: text("named"),
    eventId: text("event_id"),
    contactId: text("contact_id"),
    result: text("result", { enum: ["booked", "duplicate", "no_contact", "invalid", "failed"] }).notNull(),
    status: integer("status").notNull(),
  },
  (t) => [index("meeting_webhook_deliveries_team_idx").on(t.teamId, t.receivedAt)],
);

/** Webhook signatures already accepted (each is accepted once); rows older than the replay window are pruned. */
export const webhookSignatures = sqliteTable(
  "webhook_signatures",
  {
    signature: text("signature").primaryKey(),
    teamId: teamId(),
    createdAt: createdAt(),
  },
  (t) => [index("webhook_signatures_created_idx").on(t.createdAt)],
);

/**
 * An action on every enrollment matching a filter, too many for one request (services/enrollment-jobs.ts):
 * the matching ids are snapshotted as outcome rows when it starts, then the queue acts on them page by
 * page through the SequenceDO. `caller` is who asked (re-authorized on every page).
 */
export const enrollmentActionJobs = sqliteTable(
  "enrollment_action_jobs",
  {
    id: id(),
    teamId: teamId(),
    sequenceId: text("sequence_id").notNull(),
    userId: text("user_id"),
    caller: text("caller", { mode: "json" }).$type<StoredCaller>().notNull(),
    action: text("action").notNull(),
    params: text("params", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    filter: text("filter", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: ["running", "completed", "failed"] }).notNull(),
    total: integer("total").notNull().default(0),
    processed: integer("processed").notNull().default(0),
    changed: integer("changed").notNull().default(0),
    error: text("error"),
    /** A move's add-contacts jobs in the target sequence (one per page acted on): where each contact's outcome there is read. */
    targetJobs: text("target_jobs", { mode: "json" }).$type<string[]>().notNull().default([]),
    createdAt: createdAt(),
    finishedAt: integer("finished_at"),
    /**
     * How many of its outcome rows have each outcome (pending: not reached yet), kept by the statement that
     * writes them (counted once at the start, moved by each page's delta), so reading a page of the job
     * costs the page and not the whole job.
     */
    outcomeCounts: text("outcome_counts", { mode: "json" }).$type<Record<string, number>>().notNull().default({}),
    /**
     * A running job's heartbeat: moved by each page and by each resume (null: not moved since created_at).
     * The cron resends the page of a running job quiet for long (its message lost).
     */
    updatedAt: integer("updated_at"),
  },
  (t) => [
    index("enrollment_action_jobs_sequence_idx").on(t.teamId, t.sequenceId, t.createdAt),
    index("enrollment_action_jobs_status_updated_idx").on(t.status, t.updatedAt),
  ],
);

/** One row per enrollment an action job takes, in id order; `outcome` is 'pending' until its page ran. */
export const enrollmentActionOutcomes = sqliteTable(
  "enrollment_action_outcomes",
  {
    jobId: text("job_id").notNull(),
    idx: integer("idx").notNull(),
    teamId: teamId(),
    enrollmentId: text("enrollment_id").notNull(),
    outcome: text("outcome").notNull().default("pending"),
    changed: integer("changed", { mode: "boolean" }).notNull().default(false),
    reason: text("reason"),
    newId: text("new_id"),
    /** A move's contact held back by warnings: those categories (JSON array), to move it anyway with them as overrides. */
    heldBackBy: text("held_back_by", { mode: "json" }).$type<string[]>(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.idx] }), index("enrollment_action_outcomes_outcome_idx").on(t.jobId, t.outcome)],
);

/** What an outgoing webhook subscription may ask for (`ping` is the test event, sent to one subscription on demand). */
export const WEBHOOK_EVENT_TYPES = ["reply.received", "email.bounced", "contact.unsubscribed", "meeting.booked", "run.finished"] as const;

/**
 * Outgoing webhooks (services/webhooks-out.ts): a team's subscribed URLs. The signing secret is stored
 * sealed with APP_SECRET (as the meetings webhook's): it is needed in clear to sign each delivery.
 */
export const webhookSubscriptions = sqliteTable(
  "webhook_subscriptions",
  {
    id: id(),
    teamId: teamId(),
    url: text("url").notNull(),
    /** JSON array of WEBHOOK_EVENT_TYPES; the outbox triggers (migration 0065) read it with json_each. */
    events: text("events", { mode: "json" }).$type<(typeof WEBHOOK_EVENT_TYPES)[number][]>().notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    sealedSecret: text("sealed_secret").notNull(),
    /** The secret's first characters, shown so an admin can tell which one a receiver holds. */
    hint: text("hint").notNull(),
    /**
     * The secret a rotation replaced, sealed, kept signing beside the new one (a second v1=) until
     * `previousSecretUntil` (24 h on), so a receiver can move to the new secret without losing events.
     */
    previousSealedSecret: text("previous_sealed_secret"),
    previousHint: text("previous_hint"),
    previousSecretUntil: integer("previous_secret_until"),
    /**
     * A queue message delivering this subscription's due events holds it until then (services/webhooks-out.ts):
     * one at a time per subscription, so a burst goes out AT_ONCE at a time, and a lease left by a crash lapses.
     */
    deliveringUntil: integer("delivering_until"),
    /** Deliveries given up on in a row (reset by one delivered); at 20 the subscription is turned off. */
    failuresInRow: integer("failures_in_row").notNull().default(0),
    /** Why it was turned off by us (null when on, or turned off by a person). */
    disabledReason: text("disabled_reason"),
    createdBy: text("created_by").notNull(),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhook_subscriptions_team_idx").on(t.teamId, t.createdAt)],
);

/**
 * The outbox: one row per (subscription, event), written by triggers in the same transaction as the fact
 * (a reply or hard bounce stored, a contact unsubscribed, a meeting recorded, a run ended; migration 0065),
 * and delivered by the cron (or the queue, for a test event). `event_id` is the same for every subscription
 * and every retry of one event; `payload` is the body as sent.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: id(),
    teamId: teamId(),
    subscriptionId: text("subscription_id").notNull(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["pending", "delivered", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    /** When it is next tried (pending); a claim moves it past the attempt's timeout so no other tick takes it meanwhile. */
    nextAttemptAt: integer("next_attempt_at"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    lastAttemptAt: integer("last_attempt_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_event_uq").on(t.subscriptionId, t.eventId),
    index("webhook_deliveries_due_idx").on(t.status, t.nextAttemptAt),
    index("webhook_deliveries_subscription_idx").on(t.subscriptionId, t.createdAt),
    // A subscription's due deliveries (the cron's "anything due?" probe and a message's claim): without it both
    // walked every delivery the subscription kept for 30 days (migration 0070).
    index("webhook_deliveries_subscription_due_idx").on(t.subscriptionId, t.status, t.nextAttemptAt),
    // Settled deliveries by age, for the cron's cleanup page: the due index would walk every settled row to find
    // the few past their keeping time.
    index("webhook_deliveries_settled_idx")
      .on(t.createdAt)
      .where(sql`status IN ('delivered', 'failed')`),
  ],
);
