// The sidebar's background and border run the whole height of a long page (at the window's height they
// stopped, leaving the page's grey under the nav further down), and its links stay in view while scrolling.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

describe("app shell: the sidebar on a long page", () => {
  let browser;
  let page;

  before(async () => {
    ({ browser, page } = await launch({ width: 1280, height: 800 }));
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  it("after scrolling to the end of the team report the sidebar reaches the page's foot and its nav is still on screen", async () => {
    await page.goto(`${baseUrl}/reports`);
    await page.getByRole("heading", { name: "Per sequence" }).waitFor();
    const { scrollHeight, innerHeight } = await page.evaluate(() => ({
      scrollHeight: document.documentElement.scrollHeight,
      innerHeight: window.innerHeight,
    }));
    assert.ok(scrollHeight > innerHeight + 200, `the page is long (${scrollHeight}px in an ${innerHeight}px window)`);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    const m = await page.evaluate(() => {
      const s = document.querySelector(".sidebar");
      const r = s.getBoundingClientRect();
      return { top: r.top + window.scrollY, bottom: r.bottom + window.scrollY, bg: getComputedStyle(s).backgroundColor };
    });
    // The box itself from the top to the foot (kept 100vh tall and sticky, it covered only the window it was in).
    assert.ok(m.top <= 0 && m.bottom >= scrollHeight - 1, `the sidebar spans ${m.top}px to ${m.bottom}px of a ${scrollHeight}px page`);
    assert.notEqual(m.bg, "rgba(0, 0, 0, 0)");
    assert.ok(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sequences" }).isVisible());
    const link = await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Sequences" }).boundingBox();
    assert.ok(link.y >= 0 && link.y + link.height <= innerHeight, `the nav scrolled away (Sequences at ${link.y}px)`);
  });
});
