import { createAsync } from "@solidjs/router";
import { Show } from "solid-js";
import { getSequences } from "../queries/sequences";
import { Options } from "./Options";

/** Every sequence you may see, for a filter: all pages of them, as a team's may pass one page. */
async function allSequences() {
  const all = [];
  for (let page = 1; ; page++) {
    const r = await getSequences({ page, per_page: 100, status: "all" });
    all.push(...r.sequences);
    if (page >= r.pagination.total_pages) break;
  }
  return all;
}

/**
 * A sequence filter's options (the Outbox's, the Replies inbox's and the Tasks queue's): `all` first, then each
 * sequence you may see. A sequence named in the URL that isn't listed (still loading, or not yours to see) stays
 * selected, by id. Each option says whether it is the one (Options): a select's value set before its options load is lost.
 */
export function SequenceOptions(props: { sequenceId: string | undefined; all: string }) {
  const sequences = createAsync(() => allSequences().catch(() => undefined));
  const unlisted = () => !!props.sequenceId && !sequences()?.some((s) => s.id === props.sequenceId);
  return (
    <>
      <option value="" selected={!props.sequenceId}>
        {props.all}
      </option>
      <Show when={unlisted()}>
        <option value={props.sequenceId} selected>
          {sequences() ? "A sequence you can't see" : "Loading…"}
        </option>
      </Show>
      <Options each={sequences()} value={props.sequenceId} id={(s) => s.id}>
        {(s) => s.name}
      </Options>
    </>
  );
}
