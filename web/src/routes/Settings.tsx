import { createAsync, useSearchParams } from "@solidjs/router";
import { Match, Show, Switch } from "solid-js";
import { Badge } from "../components/Badge";
import { PageHeader } from "../components/PageHeader";
import { tabId, tabPanelId, Tabs } from "../components/Tabs";
import { getMe } from "../queries/session";
import { usePageTitle } from "../title";
import { ApiKeys } from "./settings/ApiKeys";
import { MeetingsWebhook } from "./settings/MeetingsWebhook";
import { WebhooksOutgoing } from "./settings/WebhooksOutgoing";
import { Schedules } from "./settings/Schedules";
import { Suppressions } from "./settings/Suppressions";
import { Team } from "./settings/Team";
import { ChangePassword } from "./settings/ChangePassword";
import { Card } from "../components/Card";

const TABS = [
  { id: "account", label: "Account" },
  { id: "team", label: "Team" },
  { id: "schedules", label: "Schedules" },
  { id: "api-keys", label: "API keys" },
  { id: "webhooks", label: "Webhooks" },
  { id: "do-not-email", label: "Do not email" },
];

function Account() {
  const me = createAsync(() => getMe());
  return (
    <div class="stack">
      <Show when={me()}>
        {(m) => (
          <Card title="Your account" subtitle="Who you are signed in as, and the team whose data you see.">
            <dl class="details">
              <div>
                <dt>Name</dt>
                <dd>{m().user.name}</dd>
              </div>
              <div>
                <dt>Email</dt>
                <dd>{m().user.email}</dd>
              </div>
              <div>
                <dt>Role</dt>
                <dd>
                  <Badge tone={m().user.role === "admin" ? "accent" : "neutral"}>{m().user.role === "admin" ? "Admin" : "Member"}</Badge>
                </dd>
              </div>
              <div>
                <dt>Team</dt>
                <dd>{m().team.name}</dd>
              </div>
            </dl>
          </Card>
        )}
      </Show>
      <Show when={me()?.via === "session"}>
        <ChangePassword />
      </Show>
    </div>
  );
}

export default function Settings() {
  usePageTitle("Settings");
  const [params, setParams] = useSearchParams();
  const tab = () => (TABS.some((t) => t.id === params.tab) ? (params.tab as string) : "account");
  return (
    <div class="page">
      <PageHeader
        title="Settings"
        description="Your account, your team's users, sending schedules, API access and the Do not email list."
      />
      <Tabs
        label="Settings sections"
        tabs={TABS}
        selected={tab()}
        onSelect={(id) => setParams({ tab: id === "account" ? undefined : id }, { replace: true })}
      />
      <section class="tab-panel" role="tabpanel" id={tabPanelId(tab())} aria-labelledby={tabId(tab())}>
        <Switch>
          <Match when={tab() === "account"}>
            <Account />
          </Match>
          <Match when={tab() === "team"}>
            <Team />
          </Match>
          <Match when={tab() === "schedules"}>
            <Schedules />
          </Match>
          <Match when={tab() === "api-keys"}>
            <ApiKeys />
          </Match>
          <Match when={tab() === "webhooks"}>
            <WebhooksOutgoing />
            <MeetingsWebhook />
          </Match>
          <Match when={tab() === "do-not-email"}>
            <Suppressions />
          </Match>
        </Switch>
      </section>
    </div>
  );
}
