import { createAsync } from "@solidjs/router";
import { createSignal, Show } from "solid-js";
import { useWrite } from "../../actions";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { EmptyState } from "../../components/EmptyState";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { SearchField } from "../../components/SearchField";
import { errorMessage } from "../../components/Status";
import { FormProblems } from "../../forms";
import { formatDate, formatDateTime } from "../../format";
import {
  addSuppressionsAction,
  blockDomainAction,
  getSuppressions,
  liftSuppressionAction,
  SUPPRESSION_REASONS,
  type Suppression,
} from "../../queries/suppressions";
import { getMe } from "../../queries/session";

function AddForm() {
  const add = useWrite(addSuppressionsAction, {
    form: "suppressions-form",
    done: (r) => (r ? `${r.added} address${r.added === 1 ? "" : "es"} added to Do not email` : undefined),
  });
  const [text, setText] = createSignal("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const emails = text()
      .split(/[\s,;]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (!emails.length) return;
    if (await add.run(emails)) setText("");
  };
  return (
    <Card
      title="Add addresses"
      subtitle="Addresses on this list are never emailed by any sequence, whichever contact has them, and are skipped when added to a sequence."
    >
      <form id="suppressions-form" class="form" onSubmit={submit} novalidate>
        <div class="field">
          <label for="suppression-emails">Email addresses</label>
          <textarea
            id="suppression-emails"
            name="emails"
            rows={3}
            placeholder="one@example.com, two@example.com"
            value={text()}
            onInput={(e) => setText(e.currentTarget.value)}
            aria-describedby="suppression-emails-help suppression-emails-error"
          />
          <p id="suppression-emails-help" class="field-help">
            Separate addresses with commas, spaces or new lines. Up to 1,000 at a time.
          </p>
          <FieldError id="suppression-emails-error" form={add.errors} name="emails" />
        </div>
        <FormProblems form={add.errors} />
        <div>
          <button type="submit" class="btn btn-primary" disabled={add.pending() || !text().trim()}>
            <Icon name="plus" size={16} />
            {add.pending() ? "Adding…" : "Add to Do not email"}
          </button>
        </div>
      </form>
    </Card>
  );
}

/** What a row names: an address, or "All of @example.com" for a blocked domain. */
const entryLabel = (s: Suppression) => (s.kind === "domain" ? `All of ${s.email}` : s.email);

function DomainForm() {
  const block = useWrite(blockDomainAction, {
    form: "suppression-domain-form",
    done: (r, domain) => (r ? `All of @${domain.trim().toLowerCase()} added to Do not email` : undefined),
  });
  const [text, setText] = createSignal("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const domain = text().trim();
    if (!domain) return;
    if (await block.run(domain)) setText("");
  };
  return (
    <Card
      title="Block a domain"
      subtitle="Every address at the domain is never emailed and is skipped when added to a sequence: a customer, a competitor, a partner. Subdomains are not included (mail.example.com is its own domain)."
    >
      <form id="suppression-domain-form" class="form" onSubmit={submit} novalidate>
        <div class="field">
          <label for="suppression-domain">Domain</label>
          <input
            id="suppression-domain"
            name="domain"
            type="text"
            autocomplete="off"
            spellcheck={false}
            placeholder="example.com"
            maxLength={253}
            value={text()}
            onInput={(e) => setText(e.currentTarget.value)}
            aria-describedby="suppression-domain-error"
          />
          <FieldError id="suppression-domain-error" form={block.errors} name="domain" />
        </div>
        <FormProblems form={block.errors} />
        <div>
          <button type="submit" class="btn btn-primary" disabled={block.pending() || !text().trim()}>
            <Icon name="plus" size={16} />
            {block.pending() ? "Blocking…" : "Block a domain"}
          </button>
        </div>
      </form>
    </Card>
  );
}

function SuppressionTable() {
  const [q, setQ] = createSignal("");
  const [page, setPage] = createSignal(1);
  const rows = createAsync(() => getSuppressions({ page: page(), q: q() || undefined }));
  const lift = useWrite(liftSuppressionAction, {
    done: (_, email) => (email.startsWith("@") ? `Addresses at ${email} can be emailed again` : `${email} can be emailed again`),
  });
  const [target, setTarget] = createSignal<Suppression | null>(null);
  const [consent, setConsent] = createSignal(false);
  const optedOut = () => !!target() && SUPPRESSION_REASONS[target()!.reason].optedOut;
  const confirmLift = async () => {
    const s = target();
    if (!s) return;
    await lift.run(s.email, optedOut() && consent());
    if (!lift.errors.error()) setTarget(null);
  };
  return (
    <Card title="Do not email" subtitle="Unsubscribes, bounces and addresses added by hand. Newest first." flush>
      <div class="toolbar" role="search">
        <SearchField
          id="suppression-search"
          label="Search addresses"
          placeholder="Search addresses"
          maxLength={254}
          value={q()}
          onSearch={(v) => {
            setQ(v.trim());
            setPage(1);
          }}
        />
      </div>
      <DataTable
        caption="Suppressed addresses"
        testId="suppressions-table"
        loading="Loading the Do not email list…"
        columns={[{ label: "Address" }, { label: "Reason" }, { label: "Added" }, { label: "Actions", srOnly: true }]}
        rows={rows()?.suppressions}
        pagination={rows()?.pagination}
        onPage={setPage}
        rowProps={(s) => ({ "data-email": s.email })}
        empty={
          <EmptyState icon="shield" title={q() ? `No address matches “${q()}”` : "Nobody is on the Do not email list"}>
            Unsubscribes and bounces land here by themselves; add addresses above to keep them out of every sequence.
          </EmptyState>
        }
      >
        {(s) => (
          <>
            <td class="cell-strong">{entryLabel(s)}</td>
            <td>
              <Badge tone={SUPPRESSION_REASONS[s.reason].tone}>{SUPPRESSION_REASONS[s.reason].label}</Badge>
            </td>
            <td>
              <time datetime={new Date(s.created_at).toISOString()} title={formatDateTime(s.created_at)}>
                {formatDate(s.created_at)}
              </time>
            </td>
            <td class="cell-actions">
              <button
                type="button"
                class="btn btn-danger-ghost btn-sm"
                aria-label={`Remove ${entryLabel(s)} from Do not email`}
                onClick={() => {
                  lift.clear();
                  setConsent(false);
                  setTarget(s);
                }}
              >
                Remove
              </button>
            </td>
          </>
        )}
      </DataTable>
      <ConfirmDialog
        open={!!target()}
        danger={optedOut()}
        title={target()?.kind === "domain" ? "Email this domain again?" : "Email this address again?"}
        confirmLabel="Remove from Do not email"
        busy={lift.pending()}
        onCancel={() => setTarget(null)}
        onConfirm={confirmLift}
      >
        <p>
          <Show when={target()?.kind === "domain"} fallback={<strong>{target()?.email}</strong>}>
            Every address at <strong>{target()?.email}</strong>
          </Show>{" "}
          can then be added to sequences and emailed.
        </p>
        <Show when={optedOut()}>
          <p>
            This person {target()?.reason === "complaint" ? "reported your email as spam" : "unsubscribed"}. Remove them only if they asked
            to hear from you again.
          </p>
          <label class="checkbox">
            <input type="checkbox" checked={consent()} onChange={(e) => setConsent(e.currentTarget.checked)} />
            They asked to hear from us again
          </label>
        </Show>
        <Show when={lift.errors.error()}>
          <div class="form-error" role="alert">
            <Icon name="alert" size={16} />
            <span>{errorMessage(lift.errors.error())}</span>
          </div>
        </Show>
      </ConfirmDialog>
    </Card>
  );
}

/** Settings → Do not email: the team's suppressed addresses (admins; the API answers 403 to members). */
export function Suppressions() {
  const me = createAsync(() => getMe());
  return (
    <Show when={me()}>
      {(m) => (
        <Show
          when={m().user.role === "admin"}
          fallback={
            <div class="notice" role="note">
              <Icon name="lock" size={18} />
              <div>
                <strong>Only team admins manage the Do not email list.</strong>
                <p>Addresses on it are skipped when you add contacts to a sequence, and the reason is shown there.</p>
              </div>
            </div>
          }
        >
          <div class="stack">
            <AddForm />
            <DomainForm />
            <SuppressionTable />
          </div>
        </Show>
      )}
    </Show>
  );
}
