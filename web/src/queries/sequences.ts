import { query } from "@solidjs/router";
import { fetchSequence, fetchSequences, fetchSequenceScheduled, fetchTemplateVariables, type SequenceQuery } from "../api";

export const getSequences = query((q: SequenceQuery) => fetchSequences(q), "sequences");
/** One sequence with its steps and variants (the editor, and the pages that name it: add contacts, a job). */
export const getSequence = query((id: string) => fetchSequence(id), "sequence");
/** A sequence's next emails, soonest first. */
export const getSequenceScheduled = query((id: string, limit: number) => fetchSequenceScheduled(id, limit), "sequenceScheduled");
/** The {{variables}} a step's template may use. */
export const getTemplateVariables = query(() => fetchTemplateVariables(), "templateVariables");
