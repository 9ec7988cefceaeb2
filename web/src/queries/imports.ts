import { action, query } from "@solidjs/router";
import { api, data } from "../api";

/** CSV imports, newest first (a member's own; admins: the team's). */
export const getImports = query((page: number) => data(api.imports.$get({ query: { page: String(page), per_page: "25" } })), "imports");
/** One import: its columns' mapping, a sample of rows as contacts, its progress while saving. */
export const fetchImport = (id: string) => data(api.imports[":id"].$get({ param: { id } }));
export type ImportView = Awaited<ReturnType<typeof fetchImport>>["import"];
/** The contact fields a column can map to. */
export const getImportFields = query(() => data(api.imports.fields.$get()), "importFields");

// Writes (actions.ts). Each answers the import as it now stands.
/** Uploads a CSV file (the route's multipart form, through the typed client). */
export const uploadImportAction = action(async (file: File) => (await data(api.imports.$post({ form: { file } }))).import, "uploadImport");
export const updateImportAction = action(
  async (id: string, patch: Record<string, unknown>) =>
    (await data(api.imports[":id"].$patch({ param: { id }, json: patch as never }))).import,
  "updateImport",
);
export const saveImportAction = action(
  async (id: string) => (await data(api.imports[":id"].save.$post({ param: { id } }))).import,
  "saveImport",
);
/** Deletes an import's file, preview and row report (its contacts stay); answers the file's name for the toast. */
export const deleteImportAction = action(async (id: string, fileName: string) => {
  await data(api.imports[":id"].$delete({ param: { id } }));
  return fileName;
}, "deleteImport");
