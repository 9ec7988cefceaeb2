import { ScheduledEmails } from "../scheduled/ScheduledEmails";

/** The contact page's scheduled emails: every automatic email not sent yet to this contact, in any sequence you can see. */
export function ContactScheduled(props: { contactId: string }) {
  return (
    <section class="card contact-card" aria-labelledby="contact-scheduled">
      <h2 id="contact-scheduled" class="card-title">
        Scheduled emails
      </h2>
      <ScheduledEmails
        scope={{ contact_id: props.contactId }}
        hide="contact"
        empty="No automatic email is waiting for this contact. Emails of their sequences appear here before they go out."
      />
    </section>
  );
}
