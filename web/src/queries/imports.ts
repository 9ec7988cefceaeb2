import { action, query } from "@solidjs/router";
import { api, apiFetch, data } from "../api";

/** CSV imports, newest first (a member's own; admins: the team's). */
export const getImports = query((page: number) => data(api.imports.$get({ query: { page: String(page), per_page: "25" } })), "imports");
/** One import: its columns' mapping, a sample of rows as contacts, its progress while saving. */
export const fetchImport = (id: string) => data(api.imports[":id"].$get({ param: { id } }));
export type ImportView = Awaited<ReturnType<typeof fetchImport>>["import"];
/** The contact fields a column can map to. */
export const getImportFields = query(() => data(api.imports.fields.$get()), "importFields");

// Writes (actions.ts). Each answers the import as it now stands.
/** Uploads a CSV file (multipart: the typed client speaks JSON). */
export const uploadImportAction = action(async (file: File) => {
  const body = new FormData();
  body.append("file", file);
  const res = await apiFetch("/api/imports", { method: "POST", body });
  return ((await res.json()) as { import: ImportView }).import;
}, "uploadImport");
export const updateImportAction = action(
  async (id: string, patch: Record<string, unknown>) =>
    (await data(api.imports[":id"].$patch({ param: { id }, json: patch as never }))).import,
  "updateImport",
);
export const saveImportAction = action(
  async (id: string) => (await data(api.imports[":id"].save.$post({ param: { id } }))).import,
  "saveImport",
);
