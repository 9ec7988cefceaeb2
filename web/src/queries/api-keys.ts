import { query } from "@solidjs/router";
import { fetchApiKeys } from "../api";

export const getApiKeys = query(() => fetchApiKeys(), "apiKeys");
