import { hc, parseResponse } from "hono/client";
// Types only: erased at build time, so no worker code reaches the bundle.
import type { AppType } from "../../worker/app";

/** The API's one error body, `{ error: { code, message, details? } }`, as a thrown value. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

// The session's CSRF token lives in memory only (never in storage): login and /me hand it back.
let csrfToken: string | null = null;
export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

// Who to tell when the session is gone. The app shell registers a router navigation here.
let onUnauthenticated: () => void = () => {
  if (location.pathname !== "/login") location.assign("/login");
};
export function setUnauthenticatedHandler(fn: () => void) {
  onUnauthenticated = fn;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy error page, an empty body): fall through to a generic message.
    body = null;
  }
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && typeof e.code === "string") {
    return new ApiError(res.status, e.code, typeof e.message === "string" ? e.message : res.statusText, e.details);
  }
  return new ApiError(
    res.status,
    res.status >= 500 ? "internal" : "http_error",
    `The server answered ${res.status} ${res.statusText}`.trim(),
  );
}

// A mutation sent before /api/me answered (a page that searches on load) would have no token yet:
// it waits for one instead of failing with csrf_failed. Shared, so a burst of calls asks once.
let csrfLoading: Promise<void> | null = null;
function ensureCsrfToken(): Promise<void> {
  csrfLoading ??= (async () => {
    try {
      const res = await fetch(new URL("/api/me", location.origin), { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (res.ok) csrfToken = ((await res.json()) as { csrf_token?: string }).csrf_token ?? csrfToken;
    } finally {
      csrfLoading = null;
    }
  })();
  return csrfLoading;
}

/** One send: JSON, same-origin cookies, the CSRF header on mutations; a network failure as an ApiError. */
async function send(req: Request, body: ArrayBuffer | null): Promise<Response> {
  const headers = new Headers(req.headers);
  headers.set("Accept", "application/json");
  if (!SAFE_METHODS.has(req.method) && csrfToken) headers.set("X-CSRF-Token", csrfToken);
  try {
    return await fetch(req.url, { method: req.method, headers, body, signal: req.signal, credentials: "same-origin" });
  } catch (cause) {
    throw new ApiError(0, "network_error", "Can't reach Seqflare. Check your connection and try again.", { cause: String(cause) });
  }
}

/**
 * The fetch every client call goes through: same-origin cookies, JSON, the CSRF header on mutations.
 * A non-2xx answer is thrown as an ApiError, so callers only ever see success bodies; a 401 also
 * sends the user to /login (except for the sign-in call itself, whose 401 means "wrong password").
 * A mutation refused for a stale CSRF token is sent once more with the session's current one.
 */
export const apiFetch: typeof fetch = async (input, init) => {
  const req = new Request(input, init);
  const mutation = !SAFE_METHODS.has(req.method);
  const isLogin = new URL(req.url).pathname.endsWith("/auth/login");
  if (mutation && !csrfToken && !isLogin) {
    // No session at all answers 401 here too, and the call below then reports it as usual.
    await ensureCsrfToken().catch(() => undefined);
  }
  // The body read once into memory, so a resend can send it again. A buffer, not the request's stream (a
  // clone tees it into one): a streamed upload is what the browser must then send, and tools that watch
  // requests (the browser tests) no longer see its body.
  const body = req.body ? await req.arrayBuffer() : null;
  let res = await send(req, body);
  if (res.status === 403 && mutation && !isLogin && (await toApiError(res.clone())).code === "csrf_failed") {
    // Another tab signed in again (a password change, a new sign-in): the session cookie, shared by every
    // tab, is a new session's, and this tab's token is the old one's. The refusal came before anything ran:
    // fetch the session's token and send once more, rather than failing every save until a reload.
    const stale = csrfToken;
    await ensureCsrfToken().catch(() => undefined);
    if (csrfToken && csrfToken !== stale) res = await send(req, body);
  }
  if (res.ok) return res;
  const err = await toApiError(res);
  if (res.status === 401 && !isLogin) {
    csrfToken = null;
    onUnauthenticated();
  }
  throw err;
};

/** The one typed client over every route of the worker (`hc<AppType>`): `api.sequences[":id"].$get({ param: { id } })`. */
export const api = hc<AppType>(location.origin, { fetch: apiFetch }).api;

/** Await a client call and return its (typed) success body; failures were already thrown by apiFetch. */
export const data = parseResponse;

/** Field errors of a 422 (`details.fields[]`), keyed by field path such as `variants.0.subject`. */
export function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(err instanceof ApiError) || err.code !== "validation_failed") return out;
  const fields = (err.details as { fields?: { field?: unknown; message?: unknown }[] } | undefined)?.fields;
  if (!Array.isArray(fields)) return out;
  for (const f of fields) {
    if (typeof f.field !== "string" || typeof f.message !== "string") continue;
    out[f.field] = out[f.field] ? `${out[f.field]} · ${f.message}` : f.message;
  }
  return out;
}

/** One refused field of a 422, as the API words it: `field` is the path (`smtp.host`), `label` its name in words. */
export type FieldProblem = { field: string; label: string; message: string };

/** The field problems of a 422 (`details.fields[]`); nothing for any other error. */
export function fieldProblems(err: unknown): FieldProblem[] {
  if (!(err instanceof ApiError) || err.code !== "validation_failed") return [];
  const fields = (err.details as { fields?: { field?: unknown; label?: unknown; message?: unknown }[] } | undefined)?.fields;
  if (!Array.isArray(fields)) return [];
  return fields
    .filter((f) => typeof f?.field === "string" && typeof f.message === "string")
    .map((f) => ({
      field: f.field as string,
      label: typeof f.label === "string" ? f.label : (f.field as string),
      message: f.message as string,
    }));
}

/** "SMTP host can't be empty" reads alone; "No such user in your team" needs its field's name. */
export const problemSentence = (p: FieldProblem) =>
  p.message.toLowerCase().startsWith(p.label.toLowerCase()) ? p.message : `${p.label}: ${p.message}`;

/** Drops empty values so URLs stay clean (`?status=` would fail the API's enum). */
const clean = (q: Record<string, string | number | undefined | null>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") out[k] = String(v);
  return out;
};

export type Me = Awaited<ReturnType<typeof fetchMe>>;
export type Contact = Awaited<ReturnType<typeof fetchContacts>>["contacts"][number];
export type ContactList = Awaited<ReturnType<typeof fetchLists>>["lists"][number];
export type ApiKey = Awaited<ReturnType<typeof fetchApiKeys>>["api_keys"][number];
export type ApiKeyKind = ApiKey["kind"];
export type TeamUser = Awaited<ReturnType<typeof fetchUsers>>["users"][number];
export type SequenceSummary = Awaited<ReturnType<typeof fetchSequences>>["sequences"][number];
export type Sequence = Awaited<ReturnType<typeof fetchSequence>>;
export type Step = Sequence["steps"][number];
export type StepType = Step["type"];
export type Variant = Step["variants"][number];
export type Enrollment = Awaited<ReturnType<typeof fetchEnrollments>>["enrollments"][number];
export type EnrollmentStatus = Enrollment["status"];
export type EnrollmentAction = "pause" | "resume" | "finish" | "remove" | "restart" | "change-mailbox" | "move";
export type Schedule = Awaited<ReturnType<typeof fetchSchedules>>["schedules"][number];
export type Mailbox = Awaited<ReturnType<typeof fetchMailboxes>>["mailboxes"][number];
export type Message = Awaited<ReturnType<typeof fetchMessages>>["messages"][number];
export type Task = Awaited<ReturnType<typeof fetchTasks>>["tasks"][number];
export type TemplateVariable = Awaited<ReturnType<typeof fetchTemplateVariables>>[number];
export type Person = Awaited<ReturnType<typeof searchPeople>>["people"][number];
export type PeopleFacets = Awaited<ReturnType<typeof fetchPeopleFacets>>;
export type Facet = PeopleFacets["seniorities"][number];
export type Preview = Awaited<ReturnType<typeof previewAddContacts>>;
export type Job = Awaited<ReturnType<typeof fetchJob>>;
export type JobOutcomes = Awaited<ReturnType<typeof fetchJobOutcomes>>;
export type CreditsReport = Awaited<ReturnType<typeof fetchCredits>>;
export type LedgerEntry = Awaited<ReturnType<typeof fetchLedger>>["entries"][number];

// ---------- Auth ----------

export async function login(email: string, password: string) {
  const me = await data(api.auth.login.$post({ json: { email, password } }));
  setCsrfToken(me.csrf_token);
  return me;
}

export async function logout() {
  try {
    await data(api.auth.logout.$post());
  } finally {
    setCsrfToken(null);
  }
}

export async function fetchMe() {
  const me = await data(api.me.$get());
  setCsrfToken(me.csrf_token);
  return me;
}

/** The team's users (sessions may list them; API callers need a master key). */
export function fetchUsers() {
  return data(api.users.$get({ query: {} }));
}

// ---------- Contacts, lists, API keys ----------

export type ContactQuery = {
  page: number;
  per_page: number;
  q?: string;
  sort?: "created_at" | "name" | "score";
  list_id?: string;
  stage_id?: string;
  owner_id?: string;
};
export function fetchContacts(q: ContactQuery) {
  return data(api.contacts.$get({ query: clean(q) }));
}

export async function fetchContact(id: string) {
  return (await data(api.contacts[":id"].$get({ param: { id } }))).contact;
}

/** What a contact's edit sends: only the fields changed; custom fields merged (null removes one). */
export type ContactPatch = Parameters<(typeof api.contacts)[":id"]["$patch"]>[0]["json"];
export async function updateContact(id: string, patch: ContactPatch) {
  return (await data(api.contacts[":id"].$patch({ param: { id }, json: patch }))).contact;
}

/** The sequences a contact is in (those you may see), with their status in each. */
export async function fetchContactSequences(id: string) {
  return (await data(api.contacts[":id"].sequences.$get({ param: { id } }))).sequences;
}

/** Ids of every contact matching the filters (at most 10,000): "select all matching". */
export function fetchContactIds(q: Omit<ContactQuery, "page" | "per_page" | "sort">) {
  return data(api.contacts.ids.$get({ query: clean(q) }));
}

export type ContactsBulk = Parameters<typeof api.contacts.bulk.$post>[0]["json"];
/** One action over many contacts; refused ones (e.g. another user's contact to reassign) come back with why. */
export function bulkContacts(body: ContactsBulk) {
  return data(api.contacts.bulk.$post({ json: body }));
}

/** What moving contacts to a stage would do (how many contacts; for Do Not Contact, the open runs it ends), before doing it. */
export function previewContactStage(contactIds: string[], stageId: string) {
  return data(api.contacts.stage.preview.$post({ json: { contact_ids: contactIds, stage_id: stageId } }));
}

/** One contact moved to a stage, through the same endpoint (and rights) as the Contacts page's (the replies inbox). */
export function setContactStage(contactId: string, stageId: string) {
  return data(api.contacts.stage.$post({ json: { contact_ids: [contactId], stage_id: stageId } }));
}

export function fetchContactStages() {
  return data(api["contact-stages"].$get());
}

export type ListQuery = { page: number; per_page: number; q?: string };
export function fetchLists(q: ListQuery) {
  return data(api.lists.$get({ query: clean(q) }));
}

export async function createList(name: string) {
  return (await data(api.lists.$post({ json: { name } }))).list;
}
export async function renameList(id: string, name: string) {
  return (await data(api.lists[":id"].$patch({ param: { id }, json: { name } }))).list;
}
export function deleteList(id: string) {
  return data(api.lists[":id"].$delete({ param: { id } }));
}
export function removeFromList(id: string, contactIds: string[]) {
  return data(api.lists[":id"].members.remove.$post({ param: { id }, json: { contact_ids: contactIds } }));
}

/** Every list of the team, read a page of 100 (the API's largest) at a time: for pickers and name lookups. */
export async function fetchAllLists() {
  const first = await fetchLists({ page: 1, per_page: 100 });
  const lists = [...first.lists];
  for (let page = 2; page <= first.pagination.total_pages; page++) lists.push(...(await fetchLists({ page, per_page: 100 })).lists);
  return { lists };
}

export function fetchApiKeys() {
  return data(api["api-keys"].$get());
}

export function createApiKey(name: string, kind: ApiKeyKind) {
  return data(api["api-keys"].$post({ json: { name, kind } }));
}

export function revokeApiKey(id: string) {
  return data(api["api-keys"][":id"].$delete({ param: { id } }));
}

// ---------- Sequences ----------

export type SequenceFilter = "all" | "active" | "inactive" | "archived";
export type SequenceQuery = { page: number; per_page: number; q?: string; status: SequenceFilter };
export function fetchSequences(q: SequenceQuery) {
  return data(api.sequences.$get({ query: clean(q) }));
}

export async function fetchSequence(id: string) {
  return (await data(api.sequences[":id"].$get({ param: { id } }))).sequence;
}

export async function createSequence(name: string, scheduleId: string | null) {
  return (await data(api.sequences.$post({ json: { name, schedule_id: scheduleId } }))).sequence;
}

export type SequencePatch = {
  name?: string;
  schedule_id?: string | null;
  active?: boolean;
  owner_id?: string;
  settings?: { finish_on_reply?: boolean; allow_other_owners?: boolean; colleague_reply?: "nothing" | "pause" | "finish" };
};
export async function updateSequence(id: string, patch: SequencePatch) {
  return (await data(api.sequences[":id"].$patch({ param: { id }, json: patch }))).sequence;
}

export async function cloneSequence(id: string, name?: string) {
  return (await data(api.sequences[":id"].clone.$post({ param: { id }, json: name ? { name } : {} }))).sequence;
}

/** Delete a sequence nobody was ever added to (409 sequence_has_history / sequence_in_workflow otherwise, saying why). */
export async function deleteSequence(id: string) {
  return data(api.sequences[":id"].$delete({ param: { id } }));
}

export async function archiveSequence(id: string, archived: boolean) {
  const call = archived ? api.sequences[":id"].archive.$post({ param: { id } }) : api.sequences[":id"].unarchive.$post({ param: { id } });
  return (await data(call)).sequence;
}

export async function shareSequence(id: string, shares: { user_id: string; access: "view" | "edit" }[]) {
  return (await data(api.sequences[":id"].shares.$put({ param: { id }, json: { shares } }))).sequence;
}

/** The variables email templates may use; the API refuses unknown ones on save. */
export async function fetchTemplateVariables() {
  return (await data(api["template-variables"].$get())).variables;
}

// ---------- Steps and variants ----------

export type StepFields = {
  wait_amount?: number;
  wait_unit?: Step["wait_unit"];
  business_days?: boolean;
  enabled?: boolean;
  thread_reply?: boolean;
  note?: string;
};
export type VariantFields = { subject?: string; body?: string; enabled?: boolean };

export async function createStep(
  id: string,
  step: StepFields & { type: StepType; position?: number; variants?: { subject: string; body: string }[] },
) {
  // With its warnings (custom fields no contact has): the editor shows them.
  return data(api.sequences[":id"].steps.$post({ param: { id }, json: step }));
}

export async function updateStep(id: string, stepId: string, patch: StepFields) {
  return (await data(api.sequences[":id"].steps[":stepId"].$patch({ param: { id, stepId }, json: patch }))).sequence;
}

export async function deleteStep(id: string, stepId: string) {
  return (await data(api.sequences[":id"].steps[":stepId"].$delete({ param: { id, stepId } }))).sequence;
}

export async function reorderSteps(id: string, stepIds: string[]) {
  return (await data(api.sequences[":id"].steps.reorder.$post({ param: { id }, json: { step_ids: stepIds } }))).sequence;
}

export async function addVariant(id: string, stepId: string, v: { subject: string; body: string }) {
  return data(api.sequences[":id"].steps[":stepId"].variants.$post({ param: { id, stepId }, json: v }));
}

export async function updateVariant(id: string, stepId: string, variantId: string, patch: VariantFields) {
  return data(api.sequences[":id"].steps[":stepId"].variants[":variantId"].$patch({ param: { id, stepId, variantId }, json: patch }));
}

export async function deleteVariant(id: string, stepId: string, variantId: string) {
  return (await data(api.sequences[":id"].steps[":stepId"].variants[":variantId"].$delete({ param: { id, stepId, variantId } }))).sequence;
}

// ---------- Enrollments ----------

export type EnrollmentFilter =
  | "all"
  | "active"
  | "scheduled"
  | "paused"
  | "finished"
  | "bounced"
  | "not_sent"
  | "blocked"
  | "failed"
  | "removed"
  | "held"
  | "waiting_sequence_off"
  | "wont_send";
export function fetchEnrollments(
  id: string,
  q: {
    page: number;
    per_page: number;
    status: EnrollmentFilter;
    q?: string;
    reason?: string;
    sort?: "updated" | "added" | "name" | "email" | "company" | "status" | "step" | "next_action";
  },
) {
  return data(api.sequences[":id"].enrollments.$get({ param: { id }, query: clean(q) }));
}

/** Which enrollments an action takes: picked ids (up to 1,000), or every one matching a filter. */
export type EnrollmentTarget = { enrollment_ids: string[] } | { filter: { status: EnrollmentFilter; q?: string; reason?: string } };

/** Acts in the request (each enrollment's outcome), or, for a filter matching more than 1,000, answers the job running it. */
export function changeEnrollments(
  id: string,
  action: EnrollmentAction,
  target: EnrollmentTarget,
  extra: {
    until?: number;
    step?: number;
    mailbox_id?: string;
    to_sequence_id?: string;
    /** move: warnings to move anyway. */
    overrides?: WarningOverrides;
    reason?: "marked_finished" | "replied" | "meeting_booked";
    /** restart: also those who answered, were moved or are in another sequence now (refused without it). */
    restart_anyway?: boolean;
  } = {},
) {
  return data(api.sequences[":id"].enrollments[":action"].$post({ param: { id, action }, json: { ...target, ...extra } }));
}
export type EnrollmentChange = Awaited<ReturnType<typeof changeEnrollments>>;

/** An action on a large filter: its progress and outcome counts (each enrollment's outcome: fetchEnrollmentJobOutcomes). */
export function fetchEnrollmentJob(id: string, jobId: string) {
  return data(api.sequences[":id"]["enrollment-jobs"][":job_id"].$get({ param: { id, job_id: jobId }, query: { per_page: "1" } }));
}

/** One page of an action job's outcomes: `cursor` is the `next_cursor` of the page before (none: the first). */
export function fetchEnrollmentJobOutcomes(id: string, jobId: string, limit: number, cursor?: string) {
  return data(
    api.sequences[":id"]["enrollment-jobs"][":job_id"].outcomes.$get({
      param: { id, job_id: jobId },
      query: { limit: String(limit), ...(cursor ? { cursor } : {}) },
    }),
  );
}

// ---------- Schedules ----------

export type ScheduleInput = Pick<Schedule, "name" | "time_zone" | "holidays" | "use_contact_time_zone" | "is_default"> & {
  windows: Record<string, [string, string][]>;
  holiday_calendar: HolidayCalendar;
};
/** "none", a country ("DE") or a country's state or region ("DE-BY"): fetchHolidayCalendars lists them. */
export type HolidayCalendar = string;

export function fetchSchedules() {
  return data(api.schedules.$get());
}

export function fetchHolidayCalendars() {
  return data(api.schedules["holiday-calendars"].$get());
}
export type HolidayCountry = Awaited<ReturnType<typeof fetchHolidayCalendars>>["calendars"][number];

export function fetchHolidays(calendar: HolidayCalendar, year: number) {
  return data(api.schedules.holidays.$get({ query: { calendar, year: String(year) } }));
}

export async function createSchedule(input: ScheduleInput) {
  return (await data(api.schedules.$post({ json: input }))).schedule;
}

export async function updateSchedule(id: string, input: Partial<ScheduleInput>) {
  return (await data(api.schedules[":id"].$patch({ param: { id }, json: input }))).schedule;
}

export function deleteSchedule(id: string) {
  return data(api.schedules[":id"].$delete({ param: { id } }));
}

// ---------- Mailboxes ----------

export type Transport = Mailbox["transport"];
export type SmtpInput = { host: string; port: number; security: "tls" | "starttls" | "none"; username?: string; password?: string };
export type MailboxLimits = { daily_limit?: number; hourly_limit?: number; min_gap_seconds?: number; jitter_seconds?: number };
export type MailboxInput = MailboxLimits & {
  email: string;
  sender_name: string;
  signature?: string;
  /** Unset: the outbox where the server offers it; a deployment requires one. */
  transport?: Transport;
  smtp?: SmtpInput;
};
export type MailboxPatch = MailboxLimits & {
  sender_name?: string;
  signature?: string;
  transport?: Transport;
  smtp?: Partial<SmtpInput>;
  /** Admins only: give the mailbox to another active user of the team. */
  user_id?: string;
};

export function fetchMailboxes() {
  return data(api.mailboxes.$get());
}

export async function createMailbox(input: MailboxInput) {
  return (await data(api.mailboxes.$post({ json: input }))).mailbox;
}

/** The mailbox as saved, and `warnings`: what the change leaves to do elsewhere (workflows a new owner breaks). */
export async function updateMailbox(id: string, patch: MailboxPatch) {
  return await data(api.mailboxes[":id"].$patch({ param: { id }, json: patch }));
}

export async function setMailboxConnected(id: string, connected: boolean) {
  const call = connected
    ? api.mailboxes[":id"].reconnect.$post({ param: { id } })
    : api.mailboxes[":id"].disconnect.$post({ param: { id } });
  return (await data(call)).mailbox;
}

/** Gmail / Microsoft 365 sign-in: whether each provider is configured (and what to set if not). */
export async function fetchOAuthProviders() {
  return (await data(api.oauth.providers.$get())).providers;
}

/** The provider's sign-in URL to send the browser to (a new mailbox, or `mailboxId` to reconnect). */
export async function startMailboxSignIn(provider: "google" | "microsoft", mailboxId?: string) {
  return (await data(api.oauth[":provider"].start.$post({ param: { provider }, json: mailboxId ? { mailbox_id: mailboxId } : {} }))).url;
}

export function sendTestEmail(id: string, to: string) {
  return data(api.mailboxes[":id"].test.$post({ param: { id }, json: { to } }));
}

// ---------- Outbox ----------

/** The outbox's status filters: `sent` leaves bounced emails out, `sent_or_bounced` is every email that went out (the sequence list's and report's sent), `replied` the emails the contact answered. */
export type MessageFilter = "sent" | "failed" | "bounced" | "unknown" | "sent_or_bounced" | "replied";
export type MessageQuery = { page: number; per_page: number; mailbox_id?: string; sequence_id?: string; status?: MessageFilter };
export function fetchMessages(q: MessageQuery) {
  return data(api.messages.$get({ query: clean(q) }));
}

/** The RFC 5322 source exactly as handed to the transport. */
export async function fetchRawMessage(id: string) {
  const res = await api.messages[":id"].raw.$get({ param: { id } });
  return res.text();
}

export const rawMessageUrl = (id: string) => `/api/messages/${encodeURIComponent(id)}/raw`;

// ---------- Tasks ----------

export type TaskView = "due_today" | "overdue" | "upcoming" | "open" | "done";
/** The queue's kinds of work (linkedin: its connect, message and profile visit steps together). */
export type TaskTypeFilter = "call" | "linkedin" | "task" | "manual_email";
export type TaskQuery = {
  page: number;
  per_page: number;
  view: TaskView;
  assignee: "me" | "all";
  type?: TaskTypeFilter | undefined;
  sequence_id?: string | undefined;
};
/** "Today" is the browser's day: the API takes the caller's IANA time zone (DST-correct). */
export function fetchTasks(q: TaskQuery) {
  return data(api.tasks.$get({ query: clean({ ...q, time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone }) }));
}

export const CALL_OUTCOMES = [
  ["connected", "Connected"],
  ["left_voicemail", "Left a voicemail"],
  ["no_answer", "No answer"],
  ["busy", "Busy"],
  ["wrong_number", "Wrong number"],
  ["not_interested", "Not interested"],
  ["meeting_booked", "Meeting booked"],
  ["call_back_later", "Call back later"],
] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number][0];

/**
 * Logs a call (outcome and notes land on the contact's timeline) and, by default, completes the task; with
 * callback_at (ms) the task stays open and moves to that time in the same request.
 */
export function logCall(id: string, call: { outcome: CallOutcome; notes?: string; complete?: boolean; callback_at?: number }) {
  return data(api.tasks[":id"].call.$post({ param: { id }, json: call }));
}

/** A contact's timeline, newest first. */
export function fetchContactTimeline(id: string, page = 1, perPage = 50) {
  return data(api.contacts[":id"].timeline.$get({ param: { id }, query: { page: String(page), per_page: String(perPage) } }));
}
export type TimelineEvent = Awaited<ReturnType<typeof fetchContactTimeline>>["events"][number];

export function finishTask(id: string, action: "complete" | "skip") {
  return data(api.tasks[":id"][":action"].$post({ param: { id, action }, json: {} }));
}

/** Completes or skips up to 200 tasks, each as finishTask would: the answer has each one's outcome (done, or refused with why). */
export function bulkTasks(action: "complete" | "skip", task_ids: string[]) {
  return data(api.tasks.bulk.$post({ json: { action, task_ids } }));
}

/** Reschedules (due_at, ms) and/or reassigns an open task. */
export function updateTask(id: string, patch: { due_at?: number; assignee_id?: string }) {
  return data(api.tasks[":id"].$patch({ param: { id }, json: patch }));
}

// ---------- People search ----------

type PeopleSearchBody = Parameters<typeof api.people.search.$post>[0]["json"];
/** The Prospect Searcher's filters, exactly as the API takes them (also a job's `source.search`). */
export type PeopleFilters = Omit<PeopleSearchBody, "sort" | "page" | "per_page">;
export type PeopleSort = NonNullable<PeopleSearchBody["sort"]>;
export type EmployeeRange = NonNullable<PeopleFilters["employee_ranges"]>[number];
export type EmailStatusValue = NonNullable<PeopleFilters["email_statuses"]>[number];

/** Every value the people filters take, with how many people have it (the API lets browsers cache it for an hour). */
export function fetchPeopleFacets() {
  return data(api.people.facets.$get());
}

export function searchPeople(body: PeopleSearchBody) {
  return data(api.people.search.$post({ json: body }));
}

// ---------- Add contacts ----------

export type AddContactsRequest = Parameters<(typeof api.sequences)[":id"]["add-contacts"]["$post"]>[0]["json"];
export type WarningOverrides = NonNullable<AddContactsRequest["overrides"]>;
export type OutcomeFilter = "enrolled" | "warned" | "skipped" | "all";

/** Dry run: nothing is written or charged. Same input, same answer. */
export function previewAddContacts(
  id: string,
  req: AddContactsRequest,
  q: { page: number; per_page: number; outcome: OutcomeFilter },
  init?: { signal?: AbortSignal },
) {
  return data(
    api.sequences[":id"]["add-contacts"].preview.$post(
      { param: { id }, query: clean(q), json: req },
      init?.signal ? { init: { signal: init.signal } } : undefined,
    ),
  );
}

/** What blocks adding contacts to a sequence before any is picked (inactive, no step on, no mailbox). */
export function fetchAddPreconditions(id: string) {
  return data(api.sequences[":id"]["add-contacts"].preconditions.$get({ param: { id }, query: {} }));
}

/**
 * Commit: answers with a job to follow. The Idempotency-Key makes a retry (after a timeout, a
 * double click) return the same job instead of adding everyone twice.
 */
export async function addContacts(id: string, req: AddContactsRequest, idempotencyKey: string) {
  return (
    await data(api.sequences[":id"]["add-contacts"].$post({ param: { id }, json: req, header: { "idempotency-key": idempotencyKey } }))
  ).job;
}

export function fetchJobs(q: { page: number; per_page: number; sequence_id?: string }) {
  return data(api.jobs.$get({ query: clean(q) }));
}

export async function fetchJob(id: string) {
  return (await data(api.jobs[":id"].$get({ param: { id } }))).job;
}

export function fetchJobOutcomes(id: string, q: { page: number; per_page: number; outcome: OutcomeFilter }) {
  return data(api.jobs[":id"].outcomes.$get({ param: { id }, query: clean(q) }));
}

export async function cancelJob(id: string) {
  return (await data(api.jobs[":id"].cancel.$post({ param: { id } }))).job;
}

/** Streamed by the API as an attachment; a plain link downloads it with the session cookie. */
export const jobOutcomesCsvUrl = (id: string) => `/api/jobs/${encodeURIComponent(id)}/outcomes.csv`;

// ---------- Credits ----------

export function fetchCredits(days = 30) {
  return data(api.credits.$get({ query: { days: String(days) } }));
}

export function fetchLedger(q: { page: number; per_page: number }) {
  return data(api.credits.ledger.$get({ query: clean(q) }));
}

// ---------- Workflows ----------

export type Workflow = Awaited<ReturnType<typeof fetchWorkflows>>["workflows"][number];
export type WorkflowRun = Awaited<ReturnType<typeof fetchWorkflowRuns>>["runs"][number];
export type WorkflowInput = Parameters<typeof api.workflows.$post>[0]["json"];
export type WorkflowPatch = Parameters<(typeof api.workflows)[":id"]["$patch"]>[0]["json"];

export function fetchWorkflows() {
  return data(api.workflows.$get());
}

export async function createWorkflow(input: WorkflowInput) {
  return (await data(api.workflows.$post({ json: input }))).workflow;
}

export async function updateWorkflow(id: string, patch: WorkflowPatch) {
  return (await data(api.workflows[":id"].$patch({ param: { id }, json: patch }))).workflow;
}

export function deleteWorkflow(id: string) {
  return data(api.workflows[":id"].$delete({ param: { id } }));
}

/** Runs the workflow once now, outside its schedule; answers the run it recorded. */
export async function runWorkflowNow(id: string) {
  return (await data(api.workflows[":id"].run.$post({ param: { id } }))).run;
}

export function fetchWorkflowRuns(id: string, q: { page: number; per_page: number }) {
  return data(api.workflows[":id"].runs.$get({ param: { id }, query: clean(q) }));
}
