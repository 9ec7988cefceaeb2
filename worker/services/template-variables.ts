import type { Db } from "../db/client";
import type { Caller } from "../env";
import { teamCustomFieldKeys } from "./imports/imports";
import { TEMPLATE_VARIABLES } from "./templates";

/**
 * What the caller's team may write in a template, for the editor's picker: the built-in variables,
 * then the custom fields its CSV imports keep on contacts (`{{custom.<key>}}`), which compose and the
 * preview fill from each contact's own values.
 */
export async function templateVariables(d: Db, caller: Caller): Promise<{ name: string; description: string }[]> {
  const custom = await teamCustomFieldKeys(d, caller.teamId);
  return [
    ...TEMPLATE_VARIABLES,
    ...custom.map((k) => ({ name: `custom.${k}`, description: `Custom field “${k.replace(/_/g, " ")}” (kept from a CSV import)` })),
  ];
}
