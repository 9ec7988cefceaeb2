/** Messages on the jobs queue: a typed union, carrying ids and index ranges only (never CSV rows or whole payloads). */
export type QueueMessage =
  /** Candidates [from, to) of an add-contacts job. */
  { kind: "add_contacts_chunk"; jobId: string; from: number; to: number };
