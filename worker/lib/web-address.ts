// A web address a screen may link to: http or https only (a javascript:, data: or other URL on a link
// would run or load anything). One rule for the API's schema, the Apollo API, CSV cells and the screens;
// no dependencies, so the web app imports it as it is.

const WEB = /^https?:\/\//i;
/** A scheme at the start (mailto:, javascript:, ftp://), not a host's port (linkedin.com:443/in/x). */
const SCHEME = /^[a-z][a-z0-9+.-]*:(?!\d)/i;
export const MAX_WEB_ADDRESS = 500;

export const isWebAddress = (v: string) => WEB.test(v);

/**
 * A web address as other sources give it (a CSV cell, Apollo's clients): without its scheme
 * (linkedin.com/in/x) https is meant; null when it can't be one (another scheme, not a URL, too long).
 */
export function webAddress(text: string | null | undefined): string | null {
  const v = text?.trim();
  if (!v) return null;
  const url = WEB.test(v) ? v : SCHEME.test(v) ? null : `https://${v}`;
  if (!url || url.length > MAX_WEB_ADDRESS) return null;
  try {
    new URL(url);
    return url;
  } catch {
    return null;
  }
}
