/** Messages on the jobs queue: a typed union, carrying ids only (never CSV rows or whole payloads). */
export type QueueMessage = { kind: "ping"; at: number };
