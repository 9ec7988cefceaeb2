import { Show, type JSX } from "solid-js";
import type { OutcomeFilter } from "../api";
import { formatNumber } from "../format";
import { OUTCOMES, type Outcome, type ReasonMap } from "../reasons";
import { Badge } from "./Badge";
import { ReasonBadges } from "./ReasonBadges";
import { tabId, tabPanelId, Tabs } from "./Tabs";
import type { Column } from "./DataTable";

/**
 * The outcome tabs above a list of add-contacts outcomes (a preview's "will be added", a job's "added"),
 * with the tab panel around the list.
 */
export function OutcomeTabs(props: {
  label: string;
  counts: { all: number; enrolled: number; warned: number; skipped: number };
  /** What the enrolled tab says: "Added" for a job, "Will be added" for a preview. */
  enrolled: string;
  selected: OutcomeFilter;
  onSelect: (o: OutcomeFilter) => void;
  busy?: boolean;
  children: JSX.Element;
}) {
  return (
    <>
      <div class="card-tabs">
        <Tabs
          label={props.label}
          tabs={[
            { id: "all", label: `All ${formatNumber(props.counts.all)}` },
            { id: "enrolled", label: `${props.enrolled} ${formatNumber(props.counts.enrolled)}` },
            { id: "warned", label: `Held back ${formatNumber(props.counts.warned)}` },
            { id: "skipped", label: `Skipped ${formatNumber(props.counts.skipped)}` },
          ]}
          selected={props.selected}
          scope="outcome"
          onSelect={(id) => props.onSelect(id as OutcomeFilter)}
        />
      </div>
      <div
        role="tabpanel"
        id={tabPanelId(props.selected, "outcome")}
        aria-labelledby={tabId(props.selected, "outcome")}
        aria-busy={props.busy || undefined}
      >
        {props.children}
      </div>
    </>
  );
}

/** The last columns of an outcome row: outcome, reasons, credits, mailbox. */
export const OUTCOME_COLUMNS: Column[] = [
  { label: "Outcome" },
  { label: "Reasons" },
  { label: "Credits", class: "num" },
  { label: "Mailbox" },
];

export function OutcomeCells(props: {
  row: { outcome: string; reasons: string[]; credit_cost: number; mailbox_id: string | null };
  reasons?: ReasonMap;
  /** The enrolled outcome's words ("Will be added" in a preview). */
  enrolled?: string;
  mailboxEmail: (id: string) => string | undefined;
}) {
  return (
    <>
      <td>
        <Show when={OUTCOMES[props.row.outcome as Outcome]} fallback={<Badge>{props.row.outcome}</Badge>}>
          {(x) => (
            <Badge tone={x().tone} dot title={x().hint}>
              {props.row.outcome === "enrolled" && props.enrolled ? props.enrolled : x().label}
            </Badge>
          )}
        </Show>
      </td>
      <td>
        <ReasonBadges codes={props.row.reasons} api={props.reasons} />
      </td>
      <td class="num tabular">{props.row.credit_cost ? formatNumber(props.row.credit_cost) : <span class="muted">0</span>}</td>
      <td class="small cell-nowrap">{(props.row.mailbox_id && props.mailboxEmail(props.row.mailbox_id)) || "—"}</td>
    </>
  );
}
