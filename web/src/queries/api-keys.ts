import { action, query } from "@solidjs/router";
import { createApiKey, fetchApiKeys, revokeApiKey } from "../api";

export const getApiKeys = query(() => fetchApiKeys(), "apiKeys");

// Writes (actions.ts).
/** The create form posts its FormData straight here (`<form action={createApiKeyAction}>`). */
export const createApiKeyAction = action(
  (form: FormData) => createApiKey(String(form.get("name") ?? "").trim(), form.get("kind") === "master" ? "master" : "standard"),
  "createApiKey",
);
export const revokeApiKeyAction = action(revokeApiKey, "revokeApiKey");
