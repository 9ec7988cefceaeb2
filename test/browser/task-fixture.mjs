// Browser tests of the Tasks page: a sequence with task steps and a contact in it, made through the API.
import assert from "node:assert/strict";

/** Through `api` (pageApi of a signed-in page): a new active sequence of `steps`, and a new contact in it (through the add-contacts job): its open task, once made. */
export async function taskFor(api, steps, contact) {
  // Open all day, every day: the step falls due now whatever the day and hour the test runs at.
  const always = await api("POST", "/schedules", {
    name: `Always ${Date.now()}`,
    time_zone: "UTC",
    windows: Object.fromEntries(["1", "2", "3", "4", "5", "6", "7"].map((d) => [d, [["00:00", "24:00"]]])),
  });
  assert.equal(always.status, 201, JSON.stringify(always.body));
  const seq = (await api("POST", "/sequences", { name: `Tasks ${Date.now()}`, schedule_id: always.body.schedule.id })).body.sequence;
  for (const s of steps) assert.equal((await api("POST", `/sequences/${seq.id}/steps`, s)).status, 201);
  assert.equal((await api("PATCH", `/sequences/${seq.id}`, { active: true })).status, 200);
  const c = (await api("POST", "/contacts", contact)).body.contact;
  const { mailboxes } = (await api("GET", "/mailboxes")).body;
  const mb = mailboxes.find((m) => m.status === "connected");
  const job = await api("POST", `/sequences/${seq.id}/add-contacts`, {
    source: { contact_ids: [c.id] },
    mailbox_ids: [mb.id],
    skip_validation: true,
  });
  assert.equal(job.status, 202, JSON.stringify(job.body));
  for (let i = 0; i < 120; i++) {
    const { tasks } = (await api("GET", "/tasks?view=open&assignee=all&per_page=100")).body;
    const t = tasks.find((x) => x.contact?.id === c.id);
    if (t) return { task: t, sequence: (await api("GET", `/sequences/${seq.id}`)).body.sequence, contact: c };
    await new Promise((r) => setTimeout(r, 500));
  }
  const state = await api("GET", `/sequences/${seq.id}/enrollments?status=all`);
  throw new Error(`no task was made: job ${JSON.stringify(job.body.job)}; runs ${JSON.stringify(state.body)}`);
}
