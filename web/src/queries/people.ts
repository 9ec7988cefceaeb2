import { action, query } from "@solidjs/router";
import { api, data, fetchPeopleFacets } from "../api";

/** The Prospect Searcher's filter choices (seniorities, departments, ...). */
export const getPeopleFacets = query(() => fetchPeopleFacets(), "peopleFacets");

export type SaveToListTarget = { list_id: string } | { list_name: string };

const savePeopleToList = (peopleIds: string[], target: SaveToListTarget) =>
  data(api.people.save.$post({ json: { people_ids: peopleIds, ...target } }));

export type SaveToListResult = Awaited<ReturnType<typeof savePeopleToList>>;

/** "Save to list" without a sequence: the people become contacts (net-new verified ones cost a credit) and join the list. */
export const savePeopleToListAction = action(savePeopleToList, "savePeopleToList");
