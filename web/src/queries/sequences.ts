import { action, query } from "@solidjs/router";
import {
  addVariant,
  archiveSequence,
  cloneSequence,
  createSequence,
  createStep,
  deleteSequence,
  deleteStep,
  deleteVariant,
  fetchSequence,
  fetchSequences,
  fetchTemplateVariables,
  reorderSteps,
  shareSequence,
  updateSequence,
  updateStep,
  updateVariant,
  type SequenceQuery,
} from "../api";

export const getSequences = query((q: SequenceQuery) => fetchSequences(q), "sequences");
/** One sequence with its steps and variants (the editor, and the pages that name it: add contacts, a job). */
export const getSequence = query((id: string) => fetchSequence(id), "sequence");
/** The {{variables}} a step's template may use. */
export const getTemplateVariables = query(() => fetchTemplateVariables(), "templateVariables");

// Writes (see actions.ts: run them with useWrite; the router re-reads what is on screen after each).
export const createSequenceAction = action(createSequence, "createSequence");
export const updateSequenceAction = action(updateSequence, "updateSequence");
// One action per intent where one screen offers several: each shows its own busy state and refusal.
export const renameSequenceAction = action((id: string, name: string) => updateSequence(id, { name }), "renameSequence");
export const setSequenceActiveAction = action((id: string, active: boolean) => updateSequence(id, { active }), "setSequenceActive");
export const setSequenceSettingAction = action(
  (id: string, key: "finish_on_reply" | "allow_other_owners", value: boolean) => updateSequence(id, { settings: { [key]: value } }),
  "setSequenceSetting",
);
export const setSequenceScheduleAction = action(
  (id: string, scheduleId: string | null) => updateSequence(id, { schedule_id: scheduleId }),
  "setSequenceSchedule",
);
export const cloneSequenceAction = action(cloneSequence, "cloneSequence");
export const archiveSequenceAction = action(archiveSequence, "archiveSequence");
export const unarchiveSequenceAction = action((id: string) => archiveSequence(id, false), "unarchiveSequence");
export const deleteSequenceAction = action(deleteSequence, "deleteSequence");
export const shareSequenceAction = action(shareSequence, "shareSequence");
/** The share dialog's save: who may see or edit, then (if it changed) who owns it. */
export const saveSharingAction = action(async (id: string, shares: Parameters<typeof shareSequence>[1], ownerId: string | null) => {
  const seq = await shareSequence(id, shares);
  return ownerId ? updateSequence(id, { owner_id: ownerId }) : seq;
}, "saveSharing");

export const createStepAction = action(createStep, "createStep");
export const updateStepAction = action(updateStep, "updateStep");
export const deleteStepAction = action(deleteStep, "deleteStep");
export const reorderStepsAction = action(reorderSteps, "reorderSteps");
export const addVariantAction = action(addVariant, "addVariant");
export const updateVariantAction = action(updateVariant, "updateVariant");
export const deleteVariantAction = action(deleteVariant, "deleteVariant");
export const setStepEnabledAction = action(
  (id: string, stepId: string, enabled: boolean) => updateStep(id, stepId, { enabled }),
  "setStepEnabled",
);
// A switch changes no text, so it has no warnings to show.
export const setVariantEnabledAction = action(
  async (id: string, stepId: string, variantId: string, enabled: boolean) =>
    (await updateVariant(id, stepId, variantId, { enabled })).sequence,
  "setVariantEnabled",
);
