import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env";
import { PREVIEW_UNSUBSCRIBE_TOKEN } from "../services/mime";
import { unsubscribeAddress, unsubscribeTokenOf } from "../services/unsubscribe";

const page = (title: string, body: string, form?: string) =>
  html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${title}</title>
        <style>
          body {
            font:
              16px/1.5 system-ui,
              sans-serif;
            background: #f6f7fb;
            color: #111827;
            display: grid;
            place-items: center;
            min-height: 100vh;
            margin: 0;
          }
          main {
            background: #fff;
            border: 1px solid #e5e7eb;
            border-radius: 12px;
            padding: 32px;
            max-width: 420px;
            box-shadow: 0 8px 24px rgba(0, 0, 0, 0.06);
          }
          h1 {
            font-size: 20px;
            margin: 0 0 8px;
          }
          button {
            background: #4f46e5;
            color: #fff;
            border: 0;
            border-radius: 8px;
            padding: 10px 16px;
            font-size: 15px;
            cursor: pointer;
          }
        </style>
      </head>
      <body>
        <main>
          <h1>${title}</h1>
          <p>${body}</p>
          ${form ? html`<form method="post"><button type="submit">${form}</button></form>` : ""}
        </main>
      </body>
    </html>`;

/**
 * One-click unsubscribe (RFC 8058): mail clients POST to the List-Unsubscribe URL; people who click
 * the footer link get a confirmation page first. The signed token names the team and address; the
 * suppression is per team and outlives the contact (invariant 5).
 */
/** The link in a preview (compose.ts PREVIEW_UNSUBSCRIBE_TOKEN): it names nobody, and says so to whoever follows it. */
const previewLink = () =>
  page(
    "A preview's link",
    "This is the unsubscribe link of an email's preview: nobody was unsubscribed. In the email as sent, this link lets its recipient stop all emails from this sender.",
  );

export const unsubscribeRoutes = new Hono<AppEnv>()
  .on(["GET", "POST"], `/unsubscribe/${PREVIEW_UNSUBSCRIBE_TOKEN}`, (c) => c.html(previewLink()))
  .get("/unsubscribe/:token", async (c) => {
    const who = await unsubscribeTokenOf(c.env, c.req.param("token"));
    if (!who) return c.html(page("Link not valid", "This unsubscribe link is damaged or was not issued by us."), 404);
    return c.html(page("Unsubscribe?", `Stop all emails to ${who.email} from this sender.`, "Unsubscribe"));
  })
  .post("/unsubscribe/:token", async (c) => {
    const who = await unsubscribeTokenOf(c.env, c.req.param("token"));
    if (!who) return c.html(page("Link not valid", "This unsubscribe link is damaged or was not issued by us."), 404);
    const email = who.email.toLowerCase();
    try {
      await unsubscribeAddress(c.env, c.var.db, who.teamId, email, who.messageId);
    } catch (err) {
      // Nothing was recorded (the suppression is the first write): a page a person can read, and a
      // status a mail client's one-click POST retries on, never the API's JSON error.
      console.error("unsubscribe: recording the opt-out failed", err);
      return c.html(
        page(
          "Please try again",
          "We couldn't record your request just now. Nothing has changed yet: try again in a minute.",
          "Unsubscribe",
        ),
        503,
      );
    }
    return c.html(page("You're unsubscribed", `${email} will not receive further emails from this sender.`));
  });
