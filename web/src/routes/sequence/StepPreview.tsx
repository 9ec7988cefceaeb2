import { createEffect, createSignal, createUniqueId, For, on, Show } from "solid-js";
import { api, data, fetchContacts, fetchEnrollments, type Contact, type Mailbox, type Me, type Step } from "../../api";
import { Badge } from "../../components/Badge";
import { Dialog } from "../../components/Dialog";
import { EmailView } from "../../components/EmailView";
import { Icon } from "../../components/Icon";
import { MailboxOptions } from "../../components/MailboxOptions";
import { SearchField } from "../../components/SearchField";
import { errorMessage, Spinner } from "../../components/Status";
import { getMailboxes } from "../../queries/mailboxes";
import { getMe } from "../../queries/session";
import "./StepPreview.css";

type PreviewInput = { contact_id: string; variant_id?: string; mailbox_id?: string };

function fetchStepPreview(sequenceId: string, stepId: string, json: PreviewInput) {
  return data(api.sequences[":id"].steps[":stepId"].preview.$post({ param: { id: sequenceId, stepId }, json }));
}
function sendStepTest(sequenceId: string, stepId: string, json: PreviewInput & { mailbox_id: string }) {
  return data(api.sequences[":id"].steps[":stepId"].test.$post({ param: { id: sequenceId, stepId }, json }));
}
type StepPreviewAnswer = Awaited<ReturnType<typeof fetchStepPreview>>;

const nameOf = (c: { first_name: string; last_name: string; email: string | null }) =>
  [c.first_name, c.last_name].filter(Boolean).join(" ") || c.email || "(no name)";

/**
 * An email step as one contact of the team would get it (the API runs the send path's own composer), and a
 * test of it sent to yourself through the mailbox's test-email path. The contact need not be in the sequence.
 */
export function StepPreview(props: { sequenceId: string; step: Step; stepNumber: number; onClose: () => void }) {
  const uid = createUniqueId();
  // Read into signals, not createAsync: a read still loading would suspend the whole editor behind the dialog.
  const [me, setMe] = createSignal<Me>();
  const [mailboxes, setMailboxes] = createSignal<Mailbox[]>();
  void getMe().then(setMe, () => undefined);
  void getMailboxes().then(
    (r) => setMailboxes(r.mailboxes),
    () => undefined,
  );
  const [search, setSearch] = createSignal("");
  const [contactId, setContactId] = createSignal<string>();
  const [variantId, setVariantId] = createSignal("");
  const [mailboxId, setMailboxId] = createSignal("");
  const [sent, setSent] = createSignal<{ ok: boolean; text: string } | null>(null);
  const [sending, setSending] = createSignal(false);

  // Contacts of this sequence first (the default is one of them), then the team's, or what the search finds.
  const [inSequence, setInSequence] = createSignal<{ id: string; name: string; email: string | null }[]>();
  const [found, setFound] = createSignal<Contact[]>();
  void fetchEnrollments(props.sequenceId, { page: 1, per_page: 8, status: "all", sort: "added" }).then(
    (r) => setInSequence(r.enrollments.map((e) => e.contact)),
    () => setInSequence([]),
  );
  createEffect(
    on(search, (q) => {
      const asked = q.trim();
      void fetchContacts({ page: 1, per_page: 10, sort: "name", ...(asked ? { q: asked } : {}) }).then(
        (r) => search().trim() === asked && setFound(r.contacts),
        () => setFound([]),
      );
    }),
  );
  createEffect(() => {
    if (contactId()) return;
    const first = inSequence()?.[0]?.id ?? (inSequence() ? found()?.[0]?.id : undefined);
    if (first) setContactId(first);
  });

  // Every change of contact, variant or mailbox composes again (the last asked wins); a refusal is shown, not thrown.
  type Answer = { ok: true; p: StepPreviewAnswer } | { ok: false; error: string };
  const [preview, setPreview] = createSignal<Answer>();
  let asked = 0;
  createEffect(
    on([contactId, variantId, mailboxId], ([contact, variant, mailbox]) => {
      if (!contact) return;
      const json: PreviewInput = { contact_id: contact };
      if (variant) json.variant_id = variant;
      if (mailbox) json.mailbox_id = mailbox;
      const n = ++asked;
      setPreview(undefined);
      // A new email on screen: the last test's result was about another one.
      setSent(null);
      fetchStepPreview(props.sequenceId, props.step.id, json).then(
        (p) => n === asked && setPreview({ ok: true, p }),
        (err: unknown) => n === asked && setPreview({ ok: false, error: errorMessage(err) }),
      );
    }),
  );
  const shown = (): StepPreviewAnswer | undefined => {
    const r = preview();
    return r?.ok ? r.p : undefined;
  };

  // A test goes through the mailbox's test path: only from a mailbox you may test (its owner, or an admin).
  const testable = () => {
    const p = shown();
    return !!p && !!mailboxes()?.some((m) => m.id === p.mailbox.id && m.can_edit);
  };
  // A contact the engine won't email (unsubscribed, bounced...) can still be tested: the test goes to you, not to them.
  const untestable = () => {
    const r = shown()?.refused;
    return !!r && !r.test_allowed;
  };
  const myAddress = () => me()?.user.email ?? "you";

  const sendTest = async () => {
    const p = shown();
    const contact = contactId();
    if (!p || !contact) return;
    setSending(true);
    setSent(null);
    try {
      const r = await sendStepTest(props.sequenceId, props.step.id, {
        contact_id: contact,
        mailbox_id: p.mailbox.id,
        ...(variantId() ? { variant_id: variantId() } : {}),
      });
      setSent(r.ok ? { ok: true, text: `Sent to you (${r.to}) from ${r.from.email}` } : { ok: false, text: `Not sent: ${r.message}` });
    } catch (err) {
      setSent({ ok: false, text: errorMessage(err) });
    } finally {
      setSending(false);
    }
  };

  const contactOptions = () => {
    const seq = inSequence() ?? [];
    const seqIds = new Set(seq.map((c) => c.id));
    return { seq, team: (found() ?? []).filter((c) => !seqIds.has(c.id)) };
  };
  // The contact previewed stays an option when a new search leaves it out: the select must name who the preview
  // (and the test) is of, not the first of the found ones.
  const current = () => {
    const id = contactId();
    const o = contactOptions();
    if (!id || o.seq.some((c) => c.id === id) || o.team.some((c) => c.id === id)) return null;
    const p = preview();
    const c = p?.ok && p.p.contact.id === id ? p.p.contact : null;
    return { id, label: c ? `${c.name || c.email || "(no name)"}${c.email ? ` · ${c.email}` : ""}` : "The contact previewed" };
  };

  return (
    <Dialog
      open
      size="lg"
      onClose={props.onClose}
      title={`Preview step ${props.stepNumber}`}
      description="The email as saved, exactly as the contact would get it: their fields filled in, the mailbox's signature and the footer, sent as plain text (its unsubscribe link is a stand-in that unsubscribes nobody)."
      testId="step-preview-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={() => props.onClose()}>
            Close
          </button>
          <button
            type="button"
            class="btn btn-primary"
            data-testid="step-preview-send-test"
            disabled={sending() || !shown() || untestable() || !testable()}
            title={
              untestable()
                ? "This email would not be sent: fix what the preview says first"
                : shown() && !testable()
                  ? "A test goes only through a mailbox you own (admins: any of the team's): choose one"
                  : undefined
            }
            onClick={() => void sendTest()}
          >
            <Icon name="send" size={15} /> {sending() ? "Sending…" : `Send test to ${myAddress()}`}
          </button>
        </>
      }
    >
      <div class="step-preview-pickers">
        <div class="field">
          <label for={`${uid}-search`}>Preview as</label>
          <SearchField
            id={`${uid}-search`}
            label="Search the team's contacts"
            placeholder="Search contacts by name, email or company"
            value={search()}
            onSearch={setSearch}
          />
          <label for={`${uid}-contact`} class="sr-only">
            Contact
          </label>
          <select id={`${uid}-contact`} data-testid="step-preview-contact" onChange={(e) => setContactId(e.currentTarget.value)}>
            <Show when={!contactId()}>
              <option value="" selected>
                {inSequence() && found() ? "No contact found" : "Loading…"}
              </option>
            </Show>
            <Show when={current()}>
              {(c) => (
                <optgroup label="Previewing">
                  <option value={c().id} selected>
                    {c().label}
                  </option>
                </optgroup>
              )}
            </Show>
            <Show when={contactOptions().seq.length}>
              <optgroup label="In this sequence">
                <For each={contactOptions().seq}>
                  {(c) => (
                    <option value={c.id} selected={c.id === contactId()}>
                      {c.name || c.email || "(no name)"}
                      {c.email ? ` · ${c.email}` : ""}
                    </option>
                  )}
                </For>
              </optgroup>
            </Show>
            <Show when={contactOptions().team.length}>
              <optgroup label={search().trim() ? "Found" : "Other contacts"}>
                <For each={contactOptions().team}>
                  {(c) => (
                    <option value={c.id} selected={c.id === contactId()}>
                      {nameOf(c)}
                      {c.email ? ` · ${c.email}` : ""}
                    </option>
                  )}
                </For>
              </optgroup>
            </Show>
          </select>
        </div>
        <Show when={props.step.variants.length > 1}>
          <div class="field">
            <label for={`${uid}-variant`}>Variant</label>
            <select id={`${uid}-variant`} data-testid="step-preview-variant" onChange={(e) => setVariantId(e.currentTarget.value)}>
              <option value="" selected={!variantId()}>
                The one this contact gets
              </option>
              <For each={props.step.variants}>
                {(v) => (
                  <option value={v.id} selected={v.id === variantId()}>
                    Variant {v.label}
                    {v.enabled ? "" : " (off)"}
                  </option>
                )}
              </For>
            </select>
          </div>
        </Show>
        <div class="field">
          <label for={`${uid}-mailbox`}>From mailbox</label>
          <select id={`${uid}-mailbox`} data-testid="step-preview-mailbox" onChange={(e) => setMailboxId(e.currentTarget.value)}>
            <MailboxOptions mailboxId={mailboxId() || undefined} all="The contact's, else one of yours" />
          </select>
        </div>
      </div>

      <Show when={preview()} fallback={<Spinner label={contactId() ? "Composing the email…" : "Loading contacts…"} />}>
        {(r) => (
          <Show
            when={shown()}
            fallback={
              <p class="reason reason-warning" role="alert" data-testid="step-preview-error">
                <Icon name="alert" size={15} /> {(r() as { error?: string }).error}
              </p>
            }
          >
            {(p) => (
              <EmailView
                testId="step-preview"
                from={p().from}
                to={p().to}
                subject={p().subject}
                body={p().body}
                badges={
                  <>
                    <Show when={p().variant && props.step.variants.length > 1}>
                      <Badge tone="neutral">Variant {p().variant!.label}</Badge>
                    </Show>
                    <Show when={p().step.thread_reply}>
                      <Badge tone="neutral">Same thread</Badge>
                    </Show>
                    <Show when={!p().contact.in_sequence}>
                      <Badge tone="info">Not in this sequence</Badge>
                    </Show>
                  </>
                }
              >
                {/* Why the contact won't get it: their address or stage (the run ends there), or the composer's refusal
                    (a real send meets it too, and pauses the contact on this step). */}
                <Show when={p().refused}>
                  {(why) => (
                    <p class="reason reason-warning small" data-testid="step-preview-refused">
                      <Icon name="alert" size={14} /> {why().text}
                    </p>
                  )}
                </Show>
              </EmailView>
            )}
          </Show>
        )}
      </Show>
      <Show when={sent()}>
        {(s) => (
          <p class="step-test-result" classList={{ "step-test-ok": s().ok }} role="status" data-testid="step-test-result">
            <Icon name={s().ok ? "check" : "alert"} size={15} /> {s().text}
          </p>
        )}
      </Show>
    </Dialog>
  );
}
