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

/**
 * A company's domain from what a contact's domain field may hold: an email's domain (`acme.com`), or a website
 * as the API stored it (`https://www.ACME.com/about`): lowercased, without scheme, `www.`, port, path or a final
 * dot, so all of these are `acme.com`. Null when nothing is left or it is free mail (gmail.com is no company).
 * `companyHostSql` is the same rule in SQL: the two must agree (test/add-contacts/same-company-domain), so this
 * one trims and lowercases only what SQLite's trim and lower do (the blanks below, ASCII letters).
 */
export function companyHost(value: string | null | undefined): string | null {
  let h = (value ?? "").replace(/^[ \t\n\r]+|[ \t\n\r]+$/g, "").replace(/[A-Z]+/g, (s) => s.toLowerCase());
  if (h.startsWith("http://")) h = h.slice(7);
  else if (h.startsWith("https://")) h = h.slice(8);
  if (h.startsWith("www.")) h = h.slice(4);
  h = h.split(/[/?#:]/)[0]!.replace(/\.+$/, "");
  return h && !FREE_MAIL.has(h) ? h : null;
}

// Free-mail domains as an SQL list (constants of [a-z0-9.-]: inlined, no bound parameters).
const FREE_MAIL_SQL = [...FREE_MAIL].map((m) => `'${m.replace(/[^a-z0-9.-]/g, "")}'`).join(", ");

/**
 * `companyHost` in SQL over the column expression `col` (raw SQL text), NULL when nothing is left or it is free
 * mail: one scalar subquery whose steps are nested FROM subqueries, so `col` is read once however many steps use
 * it (trim and lowercase; the scheme; `www.`; cut at the first `/`, `?`, `#` or `:`; final dots).
 */
export function companyHostSql(col: string): string {
  return `(SELECT CASE WHEN h <> '' AND h NOT IN (${FREE_MAIL_SQL}) THEN h END FROM
    (SELECT rtrim(substr(w, 1, instr(w || '/', '/') - 1), '.') AS h FROM
      (SELECT replace(replace(replace(CASE WHEN s LIKE 'www.%' THEN substr(s, 5) ELSE s END, '?', '/'), '#', '/'), ':', '/') AS w FROM
        (SELECT CASE WHEN v LIKE 'http://%' THEN substr(v, 8) WHEN v LIKE 'https://%' THEN substr(v, 9) ELSE v END AS s FROM
          (SELECT lower(trim(${col}, ' ' || char(9, 10, 13))) AS v)))))`;
}

/**
 * The domain of an address, unless it is a free-mail one. Taken as it is (lowercased), not through companyHost:
 * the reply handling looks colleagues up by their addresses' exact domain (schema EMAIL_DOMAIN's index), and an
 * address's domain has no scheme, path or port to take off.
 */
export function companyDomain(email: string | null | undefined): string | null {
  const domain = (email ?? "").toLowerCase().split("@")[1]?.trim();
  return domain && !FREE_MAIL.has(domain) ? domain : null;
}
