import { createSignal } from "solid-js";
import { useWrite } from "../../actions";
import { Dialog } from "../../components/Dialog";
import { FieldError } from "../../components/FieldError";
import { Toggle } from "../../components/Toggle";
import { notify } from "../../components/Toast";
import { Claim, FormProblems } from "../../forms";
import { createEmailTemplateAction, updateEmailTemplateAction, type EmailTemplate } from "../../queries/email-templates";
import { TemplateFields } from "../sequence/TemplateFields";

/** The longest template name (the API's TEMPLATE_NAME_MAX). */
const NAME_MAX = 200;

/**
 * New or edit an email template: name, subject and body with the step editor's variable picker and help,
 * and whether the team shares it. Mounted per opening (`<Show when=…>`), so it starts from `initial`.
 * The step editor's "Save as template" opens it with the step's text.
 */
export function TemplateDialog(props: {
  /** The template being changed; none: a new one. */
  template?: EmailTemplate;
  /** A new template's text (from a step). */
  initial?: { subject: string; body: string };
  onClose: () => void;
  onSaved?: (t: EmailTemplate) => void;
}) {
  const t = props.template;
  const [name, setName] = createSignal(t?.name ?? "");
  const [subject, setSubject] = createSignal(t?.subject ?? props.initial?.subject ?? "");
  const [body, setBody] = createSignal(t?.body ?? props.initial?.body ?? "");
  const [shared, setShared] = createSignal(t?.shared ?? false);
  const [missing, setMissing] = createSignal(false);
  const create = useWrite(createEmailTemplateAction, { form: "template-form" });
  const update = useWrite(updateEmailTemplateAction, { form: "template-form" });
  const write = () => (t ? update : create);
  const form = () => write().errors;

  const submit = async (e: Event) => {
    e.preventDefault();
    setMissing(!name().trim());
    if (!name().trim()) return;
    const fields = { name: name().trim(), subject: subject(), body: body(), shared: shared() };
    const r = t ? await update.run(t.id, fields) : await create.run(fields);
    if (!r) return;
    notify(t ? `Template “${r.template.name}” saved` : `Template “${r.template.name}” created`);
    // Saved, but likely a typo ({{custom.compnay}}): said as a step's save says it, and kept on screen a while.
    for (const w of r.warnings) notify(w.message, "info");
    props.onSaved?.(r.template);
    props.onClose();
  };

  return (
    <Dialog
      open
      size="lg"
      title={t ? `Edit “${t.name}”` : "New email template"}
      description="A saved email you insert into any email step. The step takes a copy: changing the template later changes no step."
      onClose={props.onClose}
      testId="template-dialog"
      footer={
        <>
          <button type="button" class="btn btn-secondary" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" form="template-form" class="btn btn-primary" disabled={write().pending()}>
            {write().pending() ? "Saving…" : t ? "Save template" : "Create template"}
          </button>
        </>
      }
    >
      <form id="template-form" class="form" onSubmit={submit} novalidate>
        <div class="field">
          <label for="template-name">Name</label>
          <input
            id="template-name"
            name="name"
            value={name()}
            maxlength={NAME_MAX}
            autocomplete="off"
            placeholder="e.g. Intro after a webinar"
            onInput={(e) => setName(e.currentTarget.value)}
            aria-invalid={missing() || form().invalid("name")}
            aria-describedby="template-name-error"
          />
          <FieldError id="template-name-error" form={form()} name="name" message={missing() ? "Give the template a name" : undefined} />
        </div>
        <Claim form={form()} names={["subject", "body"]} />
        <TemplateFields
          idPrefix="template"
          subject={subject()}
          body={body()}
          onSubject={setSubject}
          onBody={setBody}
          threadReply={false}
          subjectError={form().message("subject")}
          bodyError={form().message("body")}
        />
        <Toggle label="Share with the team" showLabel checked={shared()} onChange={setShared} testId="template-shared" />
        <p class="field-help">
          {shared()
            ? "Everyone in your team sees it and can insert it; only you and admins can change or delete it."
            : "Only you see it. Share it when it is ready for the team."}
        </p>
        <FormProblems form={form()} />
      </form>
    </Dialog>
  );
}
