import { A, createAsync } from "@solidjs/router";
import { createSignal, For, Show, Suspense, type JSX } from "solid-js";
import { useWrite } from "../../actions";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { CopyField } from "../../components/CopyField";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { Icon } from "../../components/Icon";
import { TableSkeleton } from "../../components/Status";
import { formatDate, formatDateTime, plural } from "../../format";
import { getContacts } from "../../queries/contacts";
import { FormProblems } from "../../forms";
import { getMe } from "../../queries/session";
import {
  createInviteAction,
  getInvites,
  getTeamUsers,
  issuePasswordResetAction,
  reissueInviteAction,
  revokeInviteAction,
  updateUserAction,
  type PendingInvite,
  type Role,
  type TeamMember,
} from "../../queries/team";

import "./Team.css";

/** An invite link, shown once: Seqflare sends no email, so the admin copies it to the person. */
function InviteLink(props: { email: string; url: string }) {
  return (
    <div class="invite-link" role="region" aria-label="Invite link">
      <p class="notice" role="note">
        <Icon name="info" size={16} />
        <span>
          <strong>No email was sent.</strong> Seqflare doesn't send invitations: copy this link and send it to {props.email} yourself. It
          works once, for 7 days, and won't be shown again (re-issue the invite for a new one).
        </span>
      </p>
      <CopyField text={props.url} testId="invite-link" copyLabel="Copy link" copiedMessage="Invite link copied to clipboard" />
    </div>
  );
}

/** A password reset link, shown once, like an invite's: the admin copies it to the person. */
function ResetLink(props: { name: string; url: string }) {
  return (
    <div class="invite-link" role="region" aria-label="Password reset link">
      <p class="notice" role="note">
        <Icon name="info" size={16} />
        <span>
          <strong>No email was sent.</strong> Copy this link and send it to {props.name} yourself. It works once, for 24 hours, and won't be
          shown again. Their password stays as it is until they use it; then they are signed out everywhere else. An earlier reset link of
          theirs no longer works.
        </span>
      </p>
      <CopyField text={props.url} testId="reset-link" copyLabel="Copy link" copiedMessage="Reset link copied to clipboard" />
    </div>
  );
}

function InviteDialog(props: { open: boolean; onClose: () => void }) {
  const invite = useWrite(createInviteAction, { form: "invite-form" });
  const [link, setLink] = createSignal<{ email: string; url: string } | null>(null);
  const close = () => {
    setLink(null);
    invite.errors.clear();
    props.onClose();
  };
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const name = String(f.get("name") ?? "").trim();
    const r = await invite.run({
      email: String(f.get("email") ?? "").trim(),
      role: f.get("role") === "admin" ? "admin" : "member",
      ...(name ? { name } : {}),
    });
    if (r) setLink({ email: r.invite.email, url: r.url });
  };
  return (
    <Dialog
      open={props.open}
      title={link() ? "Invite created" : "Invite someone"}
      description={link() ? undefined : "They get an account in your team with this role once they open the link and set a password."}
      onClose={close}
      testId="invite-dialog"
      footer={
        <Show
          when={link()}
          fallback={
            <>
              <button type="button" class="btn btn-secondary" onClick={close}>
                Cancel
              </button>
              <button type="submit" form="invite-form" class="btn btn-primary" disabled={invite.pending()}>
                {invite.pending() ? "Creating…" : "Create invite link"}
              </button>
            </>
          }
        >
          <button type="button" class="btn btn-primary" onClick={close}>
            Done
          </button>
        </Show>
      }
    >
      <Show
        when={link()}
        fallback={
          <form id="invite-form" class="form" onSubmit={submit}>
            <div class="field">
              <label for="invite-email">Email</label>
              <input
                id="invite-email"
                name="email"
                type="email"
                required
                maxlength={254}
                autocomplete="off"
                placeholder="name@company.com"
                aria-invalid={invite.errors.invalid("email")}
                aria-describedby="invite-email-error"
              />
              <FieldError id="invite-email-error" form={invite.errors} name="email" />
            </div>
            <div class="field">
              <label for="invite-name">Name (optional)</label>
              <input id="invite-name" name="name" maxlength={120} autocomplete="off" aria-describedby="invite-name-error" />
              <FieldError id="invite-name-error" form={invite.errors} name="name" />
            </div>
            <div class="field">
              <label for="invite-role">Role</label>
              <select id="invite-role" name="role" aria-describedby="invite-role-help">
                <option value="member">Member</option>
                <option value="admin">Admin</option>
              </select>
              <p id="invite-role-help" class="field-help">
                Admins manage the team, API keys, the default schedule and everyone's sequences.
              </p>
            </div>
            <FormProblems form={invite.errors} />
          </form>
        }
      >
        {(l) => <InviteLink email={l().email} url={l().url} />}
      </Show>
    </Dialog>
  );
}

function Status(props: { u: TeamMember }) {
  return (
    <Show
      when={props.u.status === "disabled"}
      fallback={
        <Badge tone="success" dot>
          Active
        </Badge>
      }
    >
      <Badge tone="neutral" dot>
        Disabled
      </Badge>
    </Show>
  );
}

const roleLabel = (r: Role) => (r === "admin" ? "Admin" : "Member");

/** Where a disabled user's contacts are handed over: Contacts filtered by them (select all, then Owner → Change). */
const contactsOf = (id: string) => `/contacts?owner_id=${encodeURIComponent(id)}`;

/**
 * How many contacts a user owns, counted by Contacts' own list (the count its filter shows). In its own
 * Suspense: the table around it stays drawn while it counts.
 */
function OwnedContacts(props: { userId: string; children: (n: number) => JSX.Element }) {
  const page = createAsync(() => getContacts({ page: 1, per_page: 1, owner_id: props.userId }).catch(() => undefined));
  return (
    <Suspense>
      <Show when={page()}>{(p) => props.children(p().pagination.total_entries)}</Show>
    </Suspense>
  );
}

function UsersTable(props: { admin: boolean; meId: string }) {
  const users = createAsync(() => getTeamUsers());
  const update = useWrite(updateUserAction, {
    failed: (_id, change) =>
      change.role ? "Couldn't change the role" : change.disabled ? "Couldn't disable the user" : "Couldn't enable the user",
    done: (r, _id, change) =>
      r
        ? change.role
          ? `${r.user.name} is now ${roleLabel(r.user.role).toLowerCase()}`
          : `${r.user.name} is ${r.user.status === "disabled" ? "disabled" : "enabled"}`
        : undefined,
  });
  const reset = useWrite(issuePasswordResetAction, { failed: () => "Couldn't make a password reset link" });
  const [resetLink, setResetLink] = createSignal<{ name: string; url: string } | null>(null);
  const [target, setTarget] = createSignal<TeamMember | null>(null);
  // The user just disabled: their contacts are still theirs, and the next step is handing them over.
  const [disabledNow, setDisabledNow] = createSignal<{ id: string; name: string } | null>(null);
  // A role change is confirmed like disabling: it takes effect at once (a select changed by a stray arrow key did too).
  const [roleChange, setRoleChange] = createSignal<{ u: TeamMember; role: Role; el: HTMLSelectElement } | null>(null);
  const cancelRole = () => {
    const c = roleChange();
    if (c) c.el.value = c.u.role;
    setRoleChange(null);
  };
  const confirmRole = async () => {
    const c = roleChange();
    if (!c) return;
    setRoleChange(null);
    const done = await update.run(c.u.id, { role: c.role });
    if (!done) c.el.value = c.u.role; // refused (the last admin): show the role it still has
  };
  const confirmToggle = async () => {
    const u = target();
    if (!u) return;
    setTarget(null);
    const r = await update.run(u.id, { disabled: u.status !== "disabled" });
    if (r) setDisabledNow(r.user.status === "disabled" ? { id: r.user.id, name: r.user.name } : null);
  };
  return (
    <Suspense fallback={<TableSkeleton columns={5} rows={3} label="Loading the team…" />}>
      {/* Said where the admin is, not in a dialog to close: nothing to hand over says nothing. */}
      <Show when={disabledNow()} keyed>
        {(u) => (
          <OwnedContacts userId={u.id}>
            {(n) => (
              <Show when={n}>
                <div class="notice hand-over" role="status" data-testid="hand-over">
                  <p>
                    {u.name} is disabled and still owns {plural(n, "contact")}. On Contacts, select all of them, then pick their new owner
                    in the selection's Owner menu.
                  </p>
                  <div class="hand-over-actions">
                    <A href={contactsOf(u.id)} class="btn btn-primary btn-sm" data-testid="hand-over-contacts">
                      Hand over their {plural(n, "contact")}
                    </A>
                    <button type="button" class="btn btn-ghost btn-sm" onClick={() => setDisabledNow(null)}>
                      Dismiss
                    </button>
                  </div>
                </div>
              </Show>
            )}
          </OwnedContacts>
        )}
      </Show>
      <Show when={users()}>
        {(r) => (
          <div class="table-wrap">
            <table class="table" data-testid="team-users">
              <caption class="sr-only">Users of your team</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Joined</th>
                  <Show when={props.admin}>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </Show>
                </tr>
              </thead>
              <tbody>
                <For each={r().users}>
                  {(u) => {
                    const self = () => u.id === props.meId;
                    return (
                      <tr classList={{ "row-muted": u.status === "disabled" }} data-user-email={u.email}>
                        <td class="cell-strong">
                          {u.name}
                          <Show when={self()}>
                            <span class="muted small"> (you)</span>
                          </Show>
                        </td>
                        <td>{u.email}</td>
                        <td>
                          <Show
                            when={props.admin}
                            fallback={<Badge tone={u.role === "admin" ? "accent" : "neutral"}>{roleLabel(u.role)}</Badge>}
                          >
                            <select
                              class="role-select"
                              aria-label={`Role of ${u.name}`}
                              value={u.role}
                              disabled={update.pending()}
                              onChange={(e) => setRoleChange({ u, role: e.currentTarget.value as Role, el: e.currentTarget })}
                            >
                              <option value="member">Member</option>
                              <option value="admin">Admin</option>
                            </select>
                          </Show>
                        </td>
                        <td>
                          <Status u={u} />
                        </td>
                        <td>
                          <time datetime={new Date(u.created_at).toISOString()} title={formatDateTime(u.created_at)}>
                            {formatDate(u.created_at)}
                          </time>
                        </td>
                        <Show when={props.admin}>
                          <td class="cell-actions">
                            <Show
                              when={!self()}
                              fallback={
                                <span class="muted small" id={`self-${u.id}`}>
                                  You can't disable yourself
                                </span>
                              }
                            >
                              <button
                                type="button"
                                class={u.status === "disabled" ? "btn btn-secondary btn-sm" : "btn btn-danger-ghost btn-sm"}
                                aria-label={`${u.status === "disabled" ? "Enable" : "Disable"} ${u.name}`}
                                disabled={update.pending()}
                                onClick={() => setTarget(u)}
                              >
                                {u.status === "disabled" ? "Enable" : "Disable"}
                              </button>
                              <Show when={u.status === "disabled"}>
                                {" "}
                                <A class="btn btn-ghost btn-sm" href={contactsOf(u.id)} aria-label={`Contacts of ${u.name}`}>
                                  Contacts
                                </A>
                              </Show>
                              <Show when={u.status !== "disabled"}>
                                {" "}
                                <button
                                  type="button"
                                  class="btn btn-secondary btn-sm"
                                  aria-label={`Reset the password of ${u.name}`}
                                  disabled={reset.pending()}
                                  onClick={async () => {
                                    const r = await reset.run(u.id);
                                    if (r) setResetLink({ name: r.user.name, url: r.url });
                                  }}
                                >
                                  Reset password
                                </button>
                              </Show>
                            </Show>
                          </td>
                        </Show>
                      </tr>
                    );
                  }}
                </For>
              </tbody>
            </table>
          </div>
        )}
      </Show>
      <ConfirmDialog
        open={!!roleChange()}
        danger={roleChange()?.role === "member"}
        title={`Make ${roleChange()?.u.id === props.meId ? "yourself" : roleChange()?.u.name} ${roleChange()?.role === "admin" ? "an admin" : "a member"}?`}
        confirmLabel={roleChange()?.role === "admin" ? "Make admin" : "Make member"}
        busy={update.pending()}
        onCancel={cancelRole}
        onConfirm={confirmRole}
      >
        <Show
          when={roleChange()?.role === "member"}
          fallback={
            <p>
              {roleChange()?.u.name} can then see and change every sequence, mailbox and contact of the team, manage users and API keys.
            </p>
          }
        >
          <p>
            {roleChange()?.u.id === props.meId ? "You lose" : `${roleChange()?.u.name} loses`} admin rights at once: the master API keys{" "}
            {roleChange()?.u.id === props.meId ? "you" : "they"} made stop working and{" "}
            {roleChange()?.u.id === props.meId ? "your" : "their"} pending invites are revoked.
            {roleChange()?.u.id === props.meId ? " Team, API keys and Webhooks settings close to you." : ""}
          </p>
        </Show>
      </ConfirmDialog>
      <Dialog
        open={!!resetLink()}
        title="Password reset link"
        onClose={() => setResetLink(null)}
        footer={
          <button type="button" class="btn btn-primary" onClick={() => setResetLink(null)}>
            Done
          </button>
        }
      >
        <Show when={resetLink()}>{(l) => <ResetLink name={l().name} url={l().url} />}</Show>
      </Dialog>
      <ConfirmDialog
        open={!!target()}
        danger={target()?.status !== "disabled"}
        title={target()?.status === "disabled" ? `Enable ${target()?.name}?` : `Disable ${target()?.name}?`}
        confirmLabel={target()?.status === "disabled" ? "Enable user" : "Disable user"}
        busy={update.pending()}
        onCancel={() => setTarget(null)}
        onConfirm={confirmToggle}
      >
        <Show
          when={target()?.status !== "disabled"}
          fallback={
            <p>
              {target()?.name} can sign in again with their password. Their data and sequences are as they left them; their mailboxes stay
              disconnected until someone reconnects them.
            </p>
          }
        >
          <p>
            {target()?.name} is signed out everywhere now and can't sign in; their API keys stop working. Their mailboxes are disconnected:
            nothing more is sent from them (their queued emails are held, not failed) until they are reconnected on the Mailboxes page; to
            hand one over, give it a new owner in its Edit dialog first. Their workflows stop running: each turns off at its next run until
            an admin gives it a new owner (its Edit page) and turns it on again. Their open tasks, and new ones, go to an active owner of
            the contact's sending mailbox, else to the sequence's owner, else (where neither is active) to the team's first active admin.
            Adds of contacts to a sequence they asked for stop: one under way adds nobody more (the rest are skipped, saying why), and one
            they scheduled fails when its time comes. Their contacts and sequences stay with the team, and sequences sending from other
            mailboxes go on. You can enable them again later.
          </p>
          <Show when={target()}>
            {(u) => (
              <OwnedContacts userId={u().id}>
                {(n) => (
                  <p data-testid="disable-owned-contacts">
                    {n
                      ? `${u().name} owns ${plural(n, "contact")}: they stay theirs until someone else is made their owner. Once disabled, a link opens them on Contacts to hand them over.`
                      : `${u().name} owns no contacts.`}
                  </p>
                )}
              </OwnedContacts>
            )}
          </Show>
        </Show>
      </ConfirmDialog>
    </Suspense>
  );
}

function InvitesTable() {
  const invites = createAsync(() => getInvites());
  const revoke = useWrite(revokeInviteAction, {
    failed: () => "Couldn't revoke the invite",
    done: (r) => (r ? `Invite to ${r.invite.email} revoked` : undefined),
  });
  const reissue = useWrite(reissueInviteAction, { failed: () => "Couldn't re-issue the invite" });
  const [target, setTarget] = createSignal<PendingInvite | null>(null);
  const [link, setLink] = createSignal<{ email: string; url: string } | null>(null);
  return (
    <Show when={invites()?.invites.length}>
      <Card title="Pending invites" subtitle="Links not used yet. Re-issuing makes a new link and stops the old one." flush>
        <div class="table-wrap">
          <table class="table" data-testid="team-invites">
            <caption class="sr-only">Pending invites</caption>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={invites()!.invites}>
                {(i) => (
                  <tr data-invite-email={i.email}>
                    <td class="cell-strong">{i.email}</td>
                    <td>{roleLabel(i.role)}</td>
                    <td>
                      <Show when={!i.expired} fallback={<Badge tone="warning">Expired</Badge>}>
                        <time datetime={new Date(i.expires_at).toISOString()}>{formatDateTime(i.expires_at)}</time>
                      </Show>
                    </td>
                    <td class="cell-actions">
                      <button
                        type="button"
                        class="btn btn-secondary btn-sm"
                        aria-label={`Re-issue the invite to ${i.email}`}
                        disabled={reissue.pending()}
                        onClick={async () => {
                          const r = await reissue.run(i.id);
                          if (r) setLink({ email: r.invite.email, url: r.url });
                        }}
                      >
                        Re-issue link
                      </button>{" "}
                      <button
                        type="button"
                        class="btn btn-danger-ghost btn-sm"
                        aria-label={`Revoke the invite to ${i.email}`}
                        onClick={() => setTarget(i)}
                      >
                        Revoke
                      </button>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
        <ConfirmDialog
          open={!!target()}
          danger
          title="Revoke this invite?"
          confirmLabel="Revoke invite"
          busy={revoke.pending()}
          onCancel={() => setTarget(null)}
          onConfirm={async () => {
            const i = target();
            setTarget(null);
            if (i) await revoke.run(i.id);
          }}
        >
          <p>The link sent to {target()?.email} stops working. You can invite them again later.</p>
        </ConfirmDialog>
        <Dialog
          open={!!link()}
          title="New invite link"
          onClose={() => setLink(null)}
          footer={
            <button type="button" class="btn btn-primary" onClick={() => setLink(null)}>
              Done
            </button>
          }
        >
          <Show when={link()}>{(l) => <InviteLink email={l().email} url={l().url} />}</Show>
        </Dialog>
      </Card>
    </Show>
  );
}

/** Settings → Team: everyone in the team; admins invite, change roles, disable and enable. Members see the list. */
export function Team() {
  const me = createAsync(() => getMe());
  const [inviting, setInviting] = createSignal(false);
  return (
    <Show when={me()}>
      {(m) => {
        const admin = () => m().user.role === "admin" && m().via === "session";
        return (
          <div class="stack">
            <Card
              title={`Users of ${m().team.name}`}
              subtitle={
                admin()
                  ? "Invite people, change their role, or disable someone who left (they are signed out at once)."
                  : "Only admins invite people and change roles."
              }
              actions={
                <Show when={admin()}>
                  <button type="button" class="btn btn-primary" onClick={() => setInviting(true)}>
                    <Icon name="plus" size={16} />
                    Invite someone
                  </button>
                </Show>
              }
              flush
            >
              <UsersTable admin={admin()} meId={m().user.id} />
            </Card>
            <Show when={admin()}>
              <InvitesTable />
              <InviteDialog open={inviting()} onClose={() => setInviting(false)} />
            </Show>
          </div>
        );
      }}
    </Show>
  );
}
