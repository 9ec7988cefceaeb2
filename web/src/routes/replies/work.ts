import { action } from "@solidjs/router";
import { api, data } from "../../api";

/** One contact moved to a stage, through the same endpoint (and rights) as the Contacts page's. */
function setContactStage(contactId: string, stageId: string) {
  return data(api.contacts.stage.$post({ json: { contact_ids: [contactId], stage_id: stageId } }));
}
// A router action: once it succeeds the inbox is re-read, so the row shows the contact's new stage.
export const setContactStageAction = action(setContactStage, "setContactStage");
