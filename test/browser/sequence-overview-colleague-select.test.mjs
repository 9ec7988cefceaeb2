// The overview's "When a colleague replies" select is as wide as its longest choice: as a flex item of the
// setting's row beside a long description it shrank until "Nothing" read "Not".
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { baseUrl, launch, signIn } from "./helpers.mjs";

const SEQ1 = "0a0000000000000000000001";

describe("the colleague rule select on a sequence's overview", () => {
  let browser;
  let page;
  before(async () => {
    ({ browser, page } = await launch());
    await signIn(page, "admin@demo.test");
  });
  after(async () => {
    await browser?.close();
  });

  for (const width of [1440, 1024]) {
    it(`shows its whole choice at ${width}px`, async () => {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(`${baseUrl}/sequences/${SEQ1}`);
      const select = page.locator("#set-colleague");
      await select.waitFor();
      const fit = await select.evaluate((el) => {
        const style = getComputedStyle(el);
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const longest = Math.max(...[...el.options].map((o) => ctx.measureText(o.text).width));
        // Its box less its borders and padding (the arrow sits in the right padding) is what the text has.
        const inner =
          el.getBoundingClientRect().width -
          parseFloat(style.paddingLeft) -
          parseFloat(style.paddingRight) -
          parseFloat(style.borderLeftWidth) -
          parseFloat(style.borderRightWidth);
        return { longest, inner };
      });
      assert.ok(fit.inner >= fit.longest, `the select's ${fit.inner.toFixed(0)}px holds its ${fit.longest.toFixed(0)}px choice`);
    });
  }
});
