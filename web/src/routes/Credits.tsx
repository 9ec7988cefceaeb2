import { createAsync } from "@solidjs/router";
import { Show, Suspense } from "solid-js";
import { EmptyState } from "../components/EmptyState";
import { Icon } from "../components/Icon";
import { PageHeader } from "../components/PageHeader";
import { formatNumber } from "../format";
import { getMe } from "../session";
import { usePageTitle } from "../title";

export default function Credits() {
  usePageTitle("Credits");
  const me = createAsync(() => getMe());
  return (
    <div class="page">
      <PageHeader title="Credits" description="Credits pay for net-new contacts with a verified email: one credit each, charged once." />
      <Suspense>
        <Show when={me()}>
          {(m) => (
            <div class="stat-row">
              <div class="stat-card">
                <span class="stat-icon" aria-hidden="true">
                  <Icon name="credits" size={20} />
                </span>
                <div>
                  <span class="stat-label">Available balance</span>
                  <span class="stat-value">{formatNumber(m().team.credit_balance)}</span>
                  <span class="stat-note">credits for {m().team.name}</span>
                </div>
              </div>
            </div>
          )}
        </Show>
      </Suspense>
      <EmptyState
        icon="clock"
        title="No credit activity yet"
        points={[
          { icon: "check", title: "Charged once", text: "A contact is charged the first time it's saved with a verified email, never again." },
          { icon: "shield", title: "Checked up front", text: "A job that could spend more than your balance is refused before anything is charged." },
          { icon: "credits", title: "Unused holds refunded", text: "Credits held for a job and not spent are returned when it finishes." },
        ]}
      >
        Every charge, hold, settlement and refund will be listed here, linked to the job that caused it.
      </EmptyState>
    </div>
  );
}
