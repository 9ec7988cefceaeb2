import { EmptyState } from "../components/EmptyState";
import { PageHeader } from "../components/PageHeader";
import { usePageTitle } from "../title";

export default function Sequences() {
  usePageTitle("Sequences");
  return (
    <div class="page">
      <PageHeader title="Sequences" description="Multi-step outreach that runs itself: emails, calls, LinkedIn touches and tasks, on your schedule." />
      <EmptyState
        icon="sequences"
        title="No sequences yet"
        points={[
          { icon: "sequences", title: "Steps in order", text: "Automatic and manual emails, calls, LinkedIn and task steps, each with a wait before it and optional A/B variants." },
          { icon: "clock", title: "Sends inside your window", text: "Per-weekday sending windows in any time zone, holidays skipped, optionally in each contact's local time." },
          { icon: "shield", title: "Safe by default", text: "Nobody who bounced, unsubscribed or is marked Do Not Contact is ever emailed, and nothing is sent twice." },
        ]}
      >
        Sequences you create or your teammates share with you will be listed here, with how many contacts are active, finished, replied or bounced in each.
      </EmptyState>
    </div>
  );
}
