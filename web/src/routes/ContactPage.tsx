import { A, createAsync, revalidate, useNavigate, useParams } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { bulkContacts, fetchContactStages } from "../api";
import { useWrite } from "../actions";
import { EmailStatusBadge } from "../components/EmailStatus";
import { PageHeader } from "../components/PageHeader";
import { Score } from "../components/Score";
import { ErrorPanel, errorMessage, TableSkeleton } from "../components/Status";
import { formatDate, formatDateTime, plural } from "../format";
import { getContact, getContactSequences, getContacts } from "../queries/contacts";
import { getUsersWithDisabled, userLabel } from "../queries/users";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { getContactMeetings, markMeetingBookedAction } from "../queries/meetings";
import { notify } from "../components/Toast";
import { usePageTitle } from "../title";
import { handOffContacts } from "./add-contacts/state";
import { SequencePicker } from "./people/SequencePicker";
import { ContactTimeline } from "./contact/Timeline";
import { ContactScheduled } from "./contact/ContactScheduled";
import { ContactLists } from "./contact/ContactLists";
import { EditContactDialog } from "./contact/EditContactDialog";
import { RunActions } from "./contact/RunActions";
import { SUPPRESSION_REASONS } from "../queries/suppressions";
import "./ContactPage.css";

const STATUS_LABEL: Record<string, string> = {
  scheduled: "Scheduled",
  active: "Active",
  paused: "Paused",
  held: "Held",
  finished: "Finished",
  failed: "Failed",
  removed: "Removed",
};

/** One contact: details, the sequences they are in and their status in each, their lists, and "Add to sequence". */
export default function ContactPage() {
  const params = useParams();
  const navigate = useNavigate();
  const contact = createAsync(() => getContact(params.id!));
  const sequences = createAsync(() => getContactSequences(params.id!));
  // The router re-reads the contact, its sequences and the timeline after it.
  const meeting = useWrite(markMeetingBookedAction, {
    done: (r) =>
      r &&
      (r.duplicate
        ? `That meeting was already recorded (booked ${formatDateTime(r.booked_at)})${r.finished.length ? `: finished in ${plural(r.finished.length, "sequence")}` : ""}`
        : `Meeting booked${r.finished.length ? `: finished in ${plural(r.finished.length, "sequence")}` : ""}${
            r.left_open ? ` (${plural(r.left_open, "run")} in sequences you can't edit left to their owners)` : ""
          }`),
    failed: () => "Couldn't mark the meeting booked",
  });
  // The latest booking recorded: shown beside the button, and booking again asks first (a second click used to count twice).
  const meetings = createAsync(() => getContactMeetings(params.id!).catch(() => undefined));
  const lastMeeting = () => meetings()?.meetings[0];
  const bookMeeting = (contactId: string) => {
    const last = lastMeeting();
    if (last && !confirm(`A meeting booked ${formatDateTime(last.booked_at)} is already recorded for this contact. Record another one?`))
      return;
    void meeting.run(contactId);
  };
  const open = () => (sequences() ?? []).filter((s) => s.status === "active" || s.status === "paused" || s.status === "held").length;
  const users = createAsync(() => getUsersWithDisabled().catch(() => undefined));
  const stages = createAsync(() => fetchContactStages().catch(() => undefined));
  const [picking, setPicking] = createSignal(false);
  const [editing, setEditing] = createSignal(false);
  // Delete as the Contacts page's bulk delete does (the same API action, confirm and refusal words): the API
  // refuses a contact in a sequence the caller can't edit, and says so. Called directly, not as a router
  // action: an action re-reads this page's queries, and the contact, gone, failed the page before it could leave.
  const [confirmDelete, setConfirmDelete] = createSignal(false);
  const [deleting, setDeleting] = createSignal(false);
  const deleteContact = async (id: string) => {
    setConfirmDelete(false);
    setDeleting(true);
    try {
      await bulkContacts({ action: "delete", contact_ids: [id] });
    } catch (err) {
      notify(`Couldn't change the contacts: ${errorMessage(err)}`, "danger");
      return;
    } finally {
      setDeleting(false);
    }
    notify(`${name()} deleted.`);
    navigate("/contacts", { replace: true });
    void revalidate([getContacts.key, "me"]);
  };
  const name = () => {
    const c = contact();
    return c ? `${c.first_name} ${c.last_name}`.trim() || c.email || "Contact" : "Contact";
  };
  usePageTitle(name);
  const ownerName = (id: string | null) => {
    const u = id ? users()?.find((x) => x.id === id) : undefined;
    return !id ? "Nobody" : u ? userLabel(u) : "A teammate";
  };
  const stageName = (id: string | null) => (id ? (stages()?.contact_stages.find((s) => s.id === id)?.name ?? "—") : "—");
  return (
    <div class="page">
      <Suspense fallback={<TableSkeleton columns={2} rows={6} label="Loading contact…" />}>
        <Show when={contact()} fallback={<ErrorPanel error={new Error("Contact not found")} />}>
          {(c) => (
            <>
              <PageHeader
                title={name()}
                description={[c().title, c().company].filter(Boolean).join(" at ") || undefined}
                actions={
                  <>
                    <Show when={lastMeeting()}>
                      {(m) => (
                        <span class="muted" data-testid="contact-meeting-recorded">
                          Meeting recorded {formatDateTime(m().booked_at)}
                        </span>
                      )}
                    </Show>
                    <button
                      type="button"
                      class="btn btn-secondary"
                      disabled={meeting.pending()}
                      title={
                        open()
                          ? `Finishes this contact's open sequences that you can edit (${open()} open) with the reason “Meeting booked”`
                          : "Records the meeting (the reports count it)"
                      }
                      onClick={() => bookMeeting(c().id)}
                      data-testid="contact-meeting-booked"
                    >
                      {meeting.pending() ? "Saving…" : "Meeting booked"}
                    </button>
                    <button type="button" class="btn btn-secondary" onClick={() => setEditing(true)} data-testid="contact-edit">
                      Edit
                    </button>
                    <button
                      type="button"
                      class="btn btn-danger"
                      disabled={deleting()}
                      onClick={() => setConfirmDelete(true)}
                      data-testid="contact-delete"
                    >
                      Delete
                    </button>
                    <button type="button" class="btn btn-primary" onClick={() => setPicking(true)} data-testid="contact-add-to-sequence">
                      Add to sequence
                    </button>
                  </>
                }
              />
              <section class="card contact-card" aria-labelledby="contact-details">
                <h2 id="contact-details" class="card-title">
                  Details
                </h2>
                <dl class="detail-list" data-testid="contact-details">
                  <dt>Email</dt>
                  <dd>
                    {c().email ?? <span class="muted">No email</span>} <EmailStatusBadge status={c().email_status} />
                  </dd>
                  <dt>Phone</dt>
                  <dd>{c().phone ? <a href={`tel:${c().phone!.replace(/[^\d+]/g, "")}`}>{c().phone}</a> : "—"}</dd>
                  <dt>LinkedIn</dt>
                  <dd>
                    {c().linkedin_url ? (
                      <a href={c().linkedin_url!} target="_blank" rel="noopener noreferrer">
                        {c().linkedin_url}
                      </a>
                    ) : (
                      "—"
                    )}
                  </dd>
                  <dt>Owner</dt>
                  <dd>{ownerName(c().owner_id)}</dd>
                  <dt>Stage</dt>
                  <dd>{stageName(c().stage_id)}</dd>
                  <dt>Location</dt>
                  <dd>{[c().city, c().country].filter(Boolean).join(", ") || "—"}</dd>
                  <dt>Time zone</dt>
                  <dd>{c().time_zone ?? "—"}</dd>
                  <dt>Score</dt>
                  <dd>
                    <Score value={c().score} />
                  </dd>
                  <Show when={c().unsubscribed_at}>
                    {(at) => (
                      <>
                        <dt>Unsubscribed</dt>
                        <dd>{formatDate(at())}: never emailed again</dd>
                      </>
                    )}
                  </Show>
                  <Show when={c().bounced_at}>
                    {(at) => (
                      <>
                        <dt>Bounced</dt>
                        <dd>{formatDate(at())}: never emailed again</dd>
                      </>
                    )}
                  </Show>
                  <Show when={c().suppression_reason}>
                    {(why) => (
                      <>
                        <dt>Do not email</dt>
                        <dd data-testid="contact-suppressed">
                          {SUPPRESSION_REASONS[why()].label}: this address is on the team's Do not email list, so it is never emailed and is
                          skipped when added to a sequence
                        </dd>
                      </>
                    )}
                  </Show>
                  <For each={Object.entries(c().custom_fields ?? {})}>
                    {([key, value]) => (
                      <>
                        <dt title={`{{custom.${key}}} in emails`} data-testid="contact-custom-field">
                          {key.replace(/_/g, " ")}
                        </dt>
                        <dd>{value}</dd>
                      </>
                    )}
                  </For>
                </dl>
              </section>
              <section class="card contact-card" aria-labelledby="contact-sequences">
                <h2 id="contact-sequences" class="card-title">
                  Sequences
                </h2>
                <Show when={(sequences() ?? []).length > 0} fallback={<p class="card-empty">Not in any sequence you can see.</p>}>
                  <div class="table-wrap">
                    <table class="table" data-testid="contact-sequences-table">
                      <thead>
                        <tr>
                          <th scope="col">Sequence</th>
                          <th scope="col">Status</th>
                          <th scope="col" class="num">
                            Step
                          </th>
                          <th scope="col">Added</th>
                          <Show when={(sequences() ?? []).some((s) => s.can_edit)}>
                            <th scope="col">Actions</th>
                          </Show>
                        </tr>
                      </thead>
                      <tbody>
                        <For each={sequences()}>
                          {(s) => (
                            <tr>
                              <td>
                                <A href={`/sequences/${s.sequence_id}`}>{s.name}</A>
                              </td>
                              <td>
                                {STATUS_LABEL[s.status] ?? s.status}
                                <Show when={s.reason_text}>
                                  <span class="muted small"> · {s.reason_text}</span>
                                </Show>
                              </td>
                              <td class="num">{s.current_step}</td>
                              <td class="cell-nowrap">{formatDateTime(s.added_at)}</td>
                              <Show when={(sequences() ?? []).some((x) => x.can_edit)}>
                                <td>
                                  <RunActions run={s} contactName={name()} />
                                </td>
                              </Show>
                            </tr>
                          )}
                        </For>
                      </tbody>
                    </table>
                  </div>
                </Show>
              </section>
              <ContactLists contactId={c().id} name={name()} />
              <ContactScheduled contactId={c().id} />
              <ContactTimeline contactId={c().id} />
              <ConfirmDialog
                open={confirmDelete()}
                title="Delete 1 contact?"
                confirmLabel="Delete"
                danger
                busy={deleting()}
                onConfirm={() => void deleteContact(c().id)}
                onCancel={() => setConfirmDelete(false)}
              >
                They leave every list and are never emailed again by any sequence.
              </ConfirmDialog>
              <Show when={editing()}>
                <EditContactDialog contact={c()} onClose={() => setEditing(false)} />
              </Show>
              <SequencePicker
                open={picking()}
                title={`Add ${name()} to a sequence`}
                onClose={() => setPicking(false)}
                onPick={(s) => {
                  handOffContacts([c().id], s.id);
                  setPicking(false);
                  navigate(`/sequences/${s.id}/add?step=options`);
                }}
              />
            </>
          )}
        </Show>
      </Suspense>
    </div>
  );
}
