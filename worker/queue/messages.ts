/** Messages on the jobs queue: a typed union, carrying ids and index ranges only (never CSV rows or whole payloads). */
export type QueueMessage =
  /** Candidates [from, to) of an add-contacts job. */
  | { kind: "add_contacts_chunk"; jobId: string; from: number; to: number }
  /**
   * Plan candidates from `from` (a few PLAN_PAGE pages) of a large job before it holds credits: validate, add up
   * the maximum spend and continue the mailbox rotation; `left` (room per mailbox) and `maximum`
   * carry the running state from page to page, so a redelivered page computes the same again.
   */
  | { kind: "add_contacts_plan"; jobId: string; from: number; left: number[]; maximum: number }
  /** Part `part` of an uploaded CSV: bytes [from, to) of its file in R2, whose first record is spreadsheet row `row`. */
  | { kind: "import_part"; importId: string; part: number; from: number; to: number; row: number }
  /** Outcome rows [from, from + JOB_PAGE) of an enrollment action job (an action on a large filter). */
  | { kind: "enrollment_action_page"; jobId: string; from: number }
  /** An outgoing webhook delivery to send now (a test event); the cron's messages send it if this one is lost. */
  | { kind: "webhook_delivery"; deliveryId: string }
  /**
   * A subscription's due outgoing webhook deliveries, a bounded batch (deliverSubscription): sent by the cron for
   * each subscription with some due, and by a message that left some over.
   */
  | { kind: "webhook_deliveries"; subscriptionId: string };
