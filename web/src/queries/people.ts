import { query } from "@solidjs/router";
import { fetchPeopleFacets } from "../api";

/** The Prospect Searcher's filter choices (seniorities, departments, ...). */
export const getPeopleFacets = query(() => fetchPeopleFacets(), "peopleFacets");
