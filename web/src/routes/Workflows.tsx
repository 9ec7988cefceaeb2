import { EmptyState } from "../components/EmptyState";
import { PageHeader } from "../components/PageHeader";
import { usePageTitle } from "../title";

export default function Workflows() {
  usePageTitle("Workflows");
  return (
    <div class="page">
      <PageHeader title="Workflows" description="Automations that find the right people and add them to a sequence on a schedule." />
      <EmptyState
        icon="workflows"
        title="No workflows yet"
        points={[
          { icon: "clock", title: "Runs on a schedule", text: "Daily, weekly or on a trigger; each run is claimed once, even when runs overlap." },
          { icon: "search", title: "Filters and a net-new check", text: "Only people matching your filters who aren't already contacts are added, within a credit budget." },
          { icon: "info", title: "A log for every run", text: "Each run records who was added, who was skipped and why, so a run that added nobody says so." },
        ]}
      >
        Workflows your team sets up will be listed here with their next run time and what their last run did.
      </EmptyState>
    </div>
  );
}
