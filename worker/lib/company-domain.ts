// What counts as a company's domain: shared by the reply handling (a colleague's reply) and the add-contacts
// same-company rule, so the two never disagree about which addresses belong to a company.

/** Free-mail domains are not companies: a reply from gmail.com says nothing about a colleague, nor groups contacts into one company (add-contacts skip_same_company). */
export const FREE_MAIL = new Set([
  "gmail.com",
  "googlemail.com",
  "outlook.com",
  "hotmail.com",
  "live.com",
  "msn.com",
  "yahoo.com",
  "ymail.com",
  "icloud.com",
  "me.com",
  "aol.com",
  "proton.me",
  "protonmail.com",
  "gmx.com",
  "gmx.de",
  "web.de",
  "mail.com",
  "yandex.com",
  "zoho.com",
  "fastmail.com",
]);

/** The domain of an address, unless it is a free-mail one. */
export function companyDomain(email: string | null | undefined): string | null {
  const domain = (email ?? "").toLowerCase().split("@")[1]?.trim();
  return domain && !FREE_MAIL.has(domain) ? domain : null;
}
