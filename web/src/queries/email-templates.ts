import { action, query } from "@solidjs/router";
import { api, data } from "../api";

export type EmailTemplateQuery = { page: number; per_page: number; q?: string };
export type EmailTemplate = Awaited<ReturnType<typeof fetchEmailTemplates>>["templates"][number];
export type EmailTemplateFields = { name: string; subject: string; body: string; shared: boolean };

function fetchEmailTemplates(q: EmailTemplateQuery) {
  return data(api["email-templates"].$get({ query: { page: String(q.page), per_page: String(q.per_page), ...(q.q ? { q: q.q } : {}) } }));
}

/** The team's shared templates and the caller's own, by name, a page at a time (the Templates page and the step editor's picker). */
export const getEmailTemplates = query((q: EmailTemplateQuery) => fetchEmailTemplates(q), "emailTemplates");

// Writes (actions.ts). Each answers the template and the save's warnings (a custom field no contact has, an empty fallback).
export const createEmailTemplateAction = action(
  (t: EmailTemplateFields) => data(api["email-templates"].$post({ json: t })),
  "createEmailTemplate",
);
export const updateEmailTemplateAction = action(
  (id: string, t: Partial<EmailTemplateFields>) => data(api["email-templates"][":id"].$patch({ param: { id }, json: t })),
  "updateEmailTemplate",
);
export const deleteEmailTemplateAction = action(
  (id: string) => data(api["email-templates"][":id"].$delete({ param: { id } })),
  "deleteEmailTemplate",
);
