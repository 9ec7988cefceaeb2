import { EmptyState } from "../components/EmptyState";
import { PageHeader } from "../components/PageHeader";
import { usePageTitle } from "../title";

export default function Mailboxes() {
  usePageTitle("Mailboxes");
  return (
    <div class="page">
      <PageHeader title="Mailboxes" description="The accounts your sequences send from, and how much each may send." />
      <EmptyState
        icon="mailboxes"
        title="No mailboxes connected"
        points={[
          { icon: "shield", title: "Limits that hold", text: "A daily and an hourly cap over rolling windows, plus a minimum gap between sends, so no mailbox is ever pushed too hard." },
          { icon: "sequences", title: "Spread across mailboxes", text: "Contacts are assigned to the mailbox with the most capacity left; highest-scored prospects go first." },
          { icon: "alert", title: "Paused, not lost", text: "If a mailbox disconnects, its emails wait and resume when it reconnects." },
        ]}
      >
        Connected mailboxes will appear here with today's sends, remaining capacity and connection health.
      </EmptyState>
    </div>
  );
}
