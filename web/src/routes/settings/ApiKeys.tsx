import { createAsync, useSubmission } from "@solidjs/router";
import { createSignal, For, Show, Suspense } from "solid-js";
import { useWrite } from "../../actions";
import type { ApiKey } from "../../api";
import { createApiKeyAction, getApiKeys, revokeApiKeyAction } from "../../queries/api-keys";
import { Badge } from "../../components/Badge";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState } from "../../components/EmptyState";
import { Icon } from "../../components/Icon";
import { FieldError } from "../../components/FieldError";
import { errorMessage, TableSkeleton } from "../../components/Status";
import { createFormErrors, FormProblems } from "../../forms";
import { formatDate, formatDateTime, formatRelative } from "../../format";
import { getMe } from "../../queries/session";

import "./ApiKeys.css";
import { Card } from "../../components/Card";
import { SecretBox } from "../../components/SecretBox";
/** The new key, shown once: the API never returns it again. */
function NewKey(props: { name: string; secret: string; onDone: () => void }) {
  return (
    <SecretBox
      titleId="new-key-title"
      title={<>API key “{props.name}” created</>}
      warning="Copy this key now and store it somewhere safe. For your security it won't be shown again."
      secret={props.secret}
      testId="new-api-key"
      copiedMessage="Key copied to clipboard"
      onDone={props.onDone}
    />
  );
}

function CreateKeyForm() {
  const submission = useSubmission(createApiKeyAction);
  const created = () => (submission.result && !submission.pending ? submission.result : undefined);
  const errors = createFormErrors(() => submission.error);
  return (
    <Card
      title="Create an API key"
      subtitle={
        <>
          Keys let your own systems call Seqflare's API (including the Apollo-compatible endpoints). Send the key in the{" "}
          <code>X-Api-Key</code> header.
        </>
      }
    >
      <Show
        when={created()}
        fallback={
          <form action={createApiKeyAction} method="post" class="form form-inline">
            <div class="field grow">
              <label for="key-name">Name</label>
              <input
                id="key-name"
                name="name"
                required
                maxlength={80}
                placeholder="e.g. CRM sync"
                autocomplete="off"
                aria-invalid={errors.invalid("name")}
                aria-describedby="key-name-error"
              />
              <FieldError id="key-name-error" form={errors} name="name" />
            </div>
            <div class="field">
              <label for="key-kind">Kind</label>
              <select id="key-kind" name="kind" aria-invalid={errors.invalid("kind")} aria-describedby="key-kind-help key-kind-error">
                <option value="standard">Standard</option>
                <option value="master">Master</option>
              </select>
              <FieldError id="key-kind-error" form={errors} name="kind" />
            </div>
            <div class="field field-action">
              <button type="submit" class="btn btn-primary" disabled={submission.pending}>
                <Icon name="plus" size={16} />
                {submission.pending ? "Creating…" : "Create key"}
              </button>
            </div>
            <p id="key-kind-help" class="field-help full">
              A key acts as you. <strong>Standard</strong> keys have your rights without an admin's: your own sequences and mailboxes and
              those shared with you, and no administration (schedules, workflows, connecting mailboxes, users, keys) or endpoints Apollo
              reserves for master keys. <strong>Master</strong> keys act as a team admin: every endpoint, every user's sequences, mailboxes
              and contacts. Give out master keys sparingly.
            </p>
            <div class="full">
              <FormProblems form={errors} />
            </div>
          </form>
        }
      >
        {(r) => <NewKey name={r().api_key.name} secret={r().key} onDone={() => submission.clear()} />}
      </Show>
    </Card>
  );
}

function KeyStatus(props: { k: ApiKey }) {
  return (
    <Show
      when={props.k.revoked_at}
      fallback={
        <Show
          when={props.k.stopped}
          fallback={
            <Badge tone="success" dot>
              Active
            </Badge>
          }
        >
          {(why) => (
            <Badge tone="warning" dot title={why()}>
              Not working: {why()}
            </Badge>
          )}
        </Show>
      }
    >
      {(at) => (
        <Badge tone="neutral" dot title={`Revoked ${formatDateTime(at())}`}>
          Revoked
        </Badge>
      )}
    </Show>
  );
}

function KeysTable() {
  const keys = createAsync(() => getApiKeys());
  const revoking = useWrite(revokeApiKeyAction);
  const revokeError = revoking.errors.error;
  const [target, setTarget] = createSignal<ApiKey | null>(null);

  const confirmRevoke = async () => {
    const k = target();
    if (!k) return;
    await revoking.run(k.id);
    if (!revoking.errors.error()) setTarget(null);
  };

  return (
    <Card title="Team API keys" subtitle="Revoked keys stop working immediately and stay listed for the audit trail." flush>
      <Suspense fallback={<TableSkeleton columns={8} rows={3} label="Loading API keys…" />}>
        <Show when={keys()}>
          {(r) => (
            <Show
              when={r().api_keys.length > 0}
              fallback={
                <EmptyState icon="key" title="No API keys yet">
                  Create a key above to connect your CRM, data warehouse or scripts.
                </EmptyState>
              }
            >
              <div class="table-wrap">
                <table class="table">
                  <caption class="sr-only">API keys</caption>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Key</th>
                      <th scope="col">Created</th>
                      <th scope="col">Acts as</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Status</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={r().api_keys}>
                      {(k) => (
                        <tr classList={{ "row-muted": !!k.revoked_at }} data-key-id={k.id}>
                          <td class="cell-strong">{k.name}</td>
                          <td>
                            <Badge tone={k.kind === "master" ? "accent" : "neutral"}>{k.kind === "master" ? "Master" : "Standard"}</Badge>
                          </td>
                          <td>
                            <code class="key-prefix">{k.prefix}…</code>
                          </td>
                          <td>
                            <time datetime={new Date(k.created_at).toISOString()} title={formatDateTime(k.created_at)}>
                              {formatDate(k.created_at)}
                            </time>
                          </td>
                          <td>{k.created_by.name ?? <span class="muted">A removed user</span>}</td>
                          <td>
                            <Show when={k.last_used_at} fallback={<span class="muted">Never</span>}>
                              {(at) => (
                                <time datetime={new Date(at()).toISOString()} title={formatDateTime(at())}>
                                  {formatRelative(at())}
                                </time>
                              )}
                            </Show>
                          </td>
                          <td>
                            <KeyStatus k={k} />
                          </td>
                          <td class="cell-actions">
                            <Show when={!k.revoked_at}>
                              <button
                                type="button"
                                class="btn btn-danger-ghost btn-sm"
                                aria-label={`Revoke API key ${k.name}`}
                                onClick={() => {
                                  revoking.clear();
                                  setTarget(k);
                                }}
                              >
                                Revoke
                              </button>
                            </Show>
                          </td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </div>
            </Show>
          )}
        </Show>
      </Suspense>
      <ConfirmDialog
        open={!!target()}
        danger
        title="Revoke this API key?"
        confirmLabel="Revoke key"
        busy={revoking.pending()}
        onCancel={() => setTarget(null)}
        onConfirm={confirmRevoke}
      >
        <p>
          <strong>{target()?.name}</strong> (<code>{target()?.prefix}…</code>) stops working immediately. Anything still using it will get
          401 errors. This can't be undone.
        </p>
        {/* Work the key started runs with the key's rights each time it acts: revoking it ends that work too. */}
        <Show when={(target()?.open_jobs ?? 0) > 0} fallback={<p>No work it started is still waiting to run.</p>}>
          <p class="revoke-jobs" role="note">
            <strong>
              {target()?.open_jobs} {target()?.open_jobs === 1 ? "job" : "jobs"} made with this key{" "}
              {target()?.open_jobs === 1 ? "is" : "are"} still to run.
            </strong>{" "}
            Scheduled adds fail, adds under way skip the contacts they haven't reached yet (as "caller not permitted"), and bulk actions
            under way stop where they are.
          </p>
        </Show>
        <Show when={revokeError()}>
          <div class="form-error" role="alert">
            <Icon name="alert" size={16} />
            <span>{errorMessage(revokeError())}</span>
          </div>
        </Show>
      </ConfirmDialog>
    </Card>
  );
}

/** Settings → API keys. Only admins manage keys (the API answers 403 to members). */
export function ApiKeys() {
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
                <strong>Only team admins manage API keys.</strong>
                <p>
                  Ask an admin of {m().team.name} to make you an admin (Settings → Team). A key acts as the person who creates it, so a key
                  an admin makes for you would carry their rights, not yours.
                </p>
              </div>
            </div>
          }
        >
          <div class="stack">
            <CreateKeyForm />
            <KeysTable />
          </div>
        </Show>
      )}
    </Show>
  );
}
