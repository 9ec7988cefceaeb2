// Reports end to end: Home is the landing page; a seeded sequence's Report tab draws its charts, each
// with a table behind it; the A/B test of the seeded workspace shows its winner.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, number, pageApi, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001"; // Enterprise outbound — Q4 (seeded history, finished A/B test)

describe("reports", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch());
  });
  after(async () => {
    await browser?.close();
  });

  it("lands on Home after sign-in with credits, tasks, capacity and recent replies", async () => {
    await signIn(page, "admin@demo.test");
    await page.waitForURL(`${baseUrl}/`);
    await page.getByRole("heading", { name: "Home", level: 1 }).waitFor();
    assert.match((await page.getByTestId("home-credits").textContent()) ?? "", /Credits left\s*[\d,]+/);
    await page.getByTestId("home-capacity").locator("li").first().waitFor();
    assert.ok((await page.getByTestId("home-replies").locator("li").count()) > 0, "recent replies listed");
  });

  it("opens a seeded sequence's report and sees its charts, each with a table", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report`);
    await page.getByTestId("sequence-report").waitFor();
    assert.match((await page.getByTestId("report-sent").textContent()) ?? "", /^[1-9][\d,]*$/);
    for (const id of ["chart-daily", "chart-rates", "chart-funnel", "chart-status"]) {
      const chart = page.getByTestId(id);
      await chart.locator("canvas").first().waitFor();
      const box = await chart.locator("canvas").first().boundingBox();
      assert.ok(box && box.width > 200 && box.height > 100, `${id} is drawn`);
      // the accessible table behind the chart
      await chart.getByText("Show as table").click();
      assert.ok((await chart.locator("table tbody tr").count()) > 0, `${id} has a table`);
    }
    // Reports count UTC days: the range fields and the daily chart say so.
    await page.getByLabel("From (UTC)").waitFor();
    await page.getByLabel("To (UTC)").waitFor();
    assert.match((await page.getByTestId("chart-daily").locator(".u-legend").textContent()) ?? "", /Day \(UTC\)/);
    // the thresholds are named on the rates chart
    const rates = page.getByTestId("chart-rates");
    assert.match((await rates.getByRole("img").getAttribute("aria-label")) ?? "", /under 2% bounces and 0\.3% spam complaints/);
    // the finished A/B test: B is the winner, significant
    const ab = page.getByTestId("ab-tests");
    await ab.getByText("Winner", { exact: true }).waitFor();
    assert.match((await ab.getByTestId("ab-verdict").first().textContent()) ?? "", /B wins/);
    // the steps table adds up: step 1 sent a positive number
    const firstStep = page.getByTestId("report-steps").locator("tbody tr").first();
    assert.match((await firstStep.textContent()) ?? "", /Automatic email/);
  });

  it("names the category in a bar chart's legend: no empty 'Value:' at rest, the step's name under the cursor", async () => {
    const funnel = page.getByTestId("chart-funnel");
    const legend = funnel.locator(".u-legend");
    await legend.waitFor();
    // The legend as drawn: each shown row's label, its ":" (a CSS ::after) and its value.
    const seen = () =>
      legend.evaluate((el) =>
        [...el.querySelectorAll("tr.u-series")]
          .filter((tr) => getComputedStyle(tr).display !== "none")
          .map((tr) => {
            const th = tr.querySelector("th");
            const after = th ? getComputedStyle(th, "::after").content : "none";
            const colon = after === "none" || after === "normal" ? "" : after.replace(/"/g, "");
            return `${th?.textContent ?? ""}${colon} ${tr.querySelector("td")?.textContent ?? ""}`.trim();
          })
          .join(" | "),
      );
    // At rest each series shows its name alone (no "Reached:" with nothing after it) and no category row.
    assert.equal(await seen(), "Reached | Sent | Replied");
    // Under the cursor, over the first bar: its step by name, then each figure.
    const over = funnel.locator(".u-over");
    const box = await over.boundingBox();
    const steps = await page.getByTestId("report-steps").locator("tbody tr").count();
    await page.mouse.move(box.x + box.width / (2 * steps), box.y + box.height - 4);
    await funnel.locator(".u-legend .u-value").first().filter({ hasText: /\S/ }).waitFor();
    assert.match(await seen(), /^Step: 1\. Automatic email \| Reached: [\d,]+ \| Sent: [\d,]+ \| Replied: [\d,]+$/);
    await page.mouse.move(0, 0);
  });

  it("filters by mailbox and keeps the filter in the address", async () => {
    const select = page.getByRole("combobox", { name: "Mailbox" });
    // A mailbox that sent for this sequence: the picker lists every mailbox of the team, and the mailbox tests that
    // run before this one add mailboxes that sent nothing (the picker's second option was one of them).
    const { report } = await (await page.request.get(`${baseUrl}/api/sequences/${SEQ1}/report`)).json();
    const value = report.mailboxes.find((m) => m.sent > 0)?.mailbox_id;
    assert.ok(value, "the seeded sequence sent from a mailbox");
    await select.selectOption(value);
    await page.waitForURL(new RegExp(`mailbox_id=${value}`));
    await page.getByTestId("report-mailboxes").locator("tbody tr").first().waitFor();
    assert.equal(await page.getByTestId("report-mailboxes").locator("tbody tr").count(), 1);
  });

  it("shows '—' for a rate with nothing sent to draw it from, and claims no limit kept", async () => {
    await page.goto(`${baseUrl}/sequences/${SEQ1}?tab=report&from=2020-01-01&to=2020-01-02`);
    await page.getByTestId("sequence-report").waitFor();
    await page.getByTestId("report-sent").filter({ hasText: /^0$/ }).waitFor();
    assert.equal((await page.getByTestId("report-reply-rate").textContent())?.trim(), "—");
    assert.equal((await page.getByTestId("report-bounce-rate").textContent())?.trim(), "—");
    const note = (await page.getByTestId("report-bounce-note").textContent()) ?? "";
    assert.doesNotMatch(note, /under the|over the/);
    assert.match(note, /keep it under 2%/);
    const firstStep = (await page.getByTestId("report-steps").locator("tbody tr").first().textContent()) ?? "";
    assert.doesNotMatch(firstStep, /0\.0%|0\.00%/);
  });

  it("tells a member the team report counts only their own and shared sequences; an admin sees no such note", async () => {
    await page.goto(`${baseUrl}/reports`);
    await page.getByTestId("team-users").waitFor();
    assert.equal(await page.getByTestId("team-scope-note").count(), 0);
    const rep = await launch();
    try {
      await signIn(rep.page, "rep2@demo.test");
      await rep.page.goto(`${baseUrl}/reports`);
      await rep.page.getByTestId("team-users").waitFor();
      assert.match(
        (await rep.page.getByTestId("team-scope-note").textContent()) ?? "",
        /Only the sequences you own or that are shared with you/,
      );
    } finally {
      await rep.browser.close();
    }
  });

  it("credits a meeting booked outside any sequence to the user who booked it, and says so", async () => {
    const api = pageApi(page);
    const mine = async () => (await api("GET", "/reports/team")).body.report.users.find((u) => u.email === "admin@demo.test");
    const before = await mine();
    // A contact no sequence ever emailed: the meeting is no sequence's, but it is the admin's, who booked it.
    const created = await api("POST", "/contacts", { first_name: "Met", last_name: "Outside", email: `met-${Date.now()}@nowhere.test` });
    assert.equal(created.status, 201);
    const booked = await api("POST", `/contacts/${created.body.contact.id}/meeting-booked`, {});
    assert.equal(booked.status, 200);
    assert.equal(booked.body.duplicate, false);
    assert.equal((await mine()).meetings, before.meetings + 1);
    await page.goto(`${baseUrl}/reports`);
    const row = page
      .getByTestId("team-users")
      .locator("tbody tr")
      .filter({ has: page.locator("th", { hasText: before.name }) });
    // Added, Sent, Replies, Reply rate, Positive replies, Meetings.
    assert.equal(await number(row.locator("td").nth(5)), before.meetings + 1);
    assert.match(
      (await page.getByTestId("team-report-notes").textContent()) ?? "",
      /A user's are the meetings they booked, in a sequence or outside any/,
    );
  });

  it("the sequence's side column counts contacts as its report does: a restarted contact once", async () => {
    const api = (path, init) =>
      page.evaluate(
        async ([path, init]) => {
          const me = await (await fetch("/api/me")).json();
          const r = await fetch(path, { ...init, headers: { "content-type": "application/json", "x-csrf-token": me.csrf_token } });
          return r.json();
        },
        [path, init],
      );
    const contacts = async () => (await api(`/api/sequences/${SEQ1}/report`)).report.totals.contacts;
    const runs = async () => (await api(`/api/sequences/${SEQ1}/enrollments?status=all&per_page=1`)).counts.all;
    const [before, runsBefore] = [await contacts(), await runs()];
    const [active] = (await api(`/api/sequences/${SEQ1}/enrollments?status=active&per_page=1`)).enrollments;
    const done = await api(`/api/sequences/${SEQ1}/enrollments/restart`, {
      method: "POST",
      body: JSON.stringify({ enrollment_ids: [active.id] }),
    });
    assert.deepEqual(done.outcomes, { restarted: 1 });
    // The new run is in D1 (one more run), and still one contact more than none.
    for (let i = 0; (await runs()) === runsBefore; i++) {
      assert.ok(i < 50, "the restart's run reached D1");
      await page.waitForTimeout(200);
    }
    assert.equal(await contacts(), before);
    await page.goto(`${baseUrl}/sequences/${SEQ1}`);
    const side = page.getByRole("complementary", { name: "Sequence overview" });
    await side.locator(".side-big").waitFor();
    assert.equal(await number(side.locator(".side-big")), before);
  });
});
