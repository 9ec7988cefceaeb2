import { ApiError } from "../lib/errors";
import type { PeopleLocation } from "../services/people-search";

/** The spellings Apollo's clients use for a country, as the people data spells it. */
const COUNTRY_ALIASES: Record<string, string> = {
  us: "United States",
  usa: "United States",
  "united states": "United States",
  "united states of america": "United States",
  america: "United States",
  uk: "United Kingdom",
  gb: "United Kingdom",
  "great britain": "United Kingdom",
  "united kingdom": "United Kingdom",
  uae: "United Arab Emirates",
  "united arab emirates": "United Arab Emirates",
};

/** US states (and DC) by their two-letter code. */
const US_STATES: Record<string, string> = {
  al: "Alabama",
  ak: "Alaska",
  az: "Arizona",
  ar: "Arkansas",
  ca: "California",
  co: "Colorado",
  ct: "Connecticut",
  de: "Delaware",
  dc: "District of Columbia",
  fl: "Florida",
  ga: "Georgia",
  hi: "Hawaii",
  id: "Idaho",
  il: "Illinois",
  in: "Indiana",
  ia: "Iowa",
  ks: "Kansas",
  ky: "Kentucky",
  la: "Louisiana",
  me: "Maine",
  md: "Maryland",
  ma: "Massachusetts",
  mi: "Michigan",
  mn: "Minnesota",
  ms: "Mississippi",
  mo: "Missouri",
  mt: "Montana",
  ne: "Nebraska",
  nv: "Nevada",
  nh: "New Hampshire",
  nj: "New Jersey",
  nm: "New Mexico",
  ny: "New York",
  nc: "North Carolina",
  nd: "North Dakota",
  oh: "Ohio",
  ok: "Oklahoma",
  or: "Oregon",
  pa: "Pennsylvania",
  ri: "Rhode Island",
  sc: "South Carolina",
  sd: "South Dakota",
  tn: "Tennessee",
  tx: "Texas",
  ut: "Utah",
  vt: "Vermont",
  va: "Virginia",
  wa: "Washington",
  wv: "West Virginia",
  wi: "Wisconsin",
  wy: "Wyoming",
};
const STATE_NAMES = new Set(Object.values(US_STATES).map((s) => s.toLowerCase()));

/** A part as compared: lower case, dots dropped ("U.S." is "us"), spaces collapsed. */
const key = (part: string) => part.toLowerCase().replace(/\./g, "").replace(/\s+/g, " ").trim();
const countryOf = (part: string) => COUNTRY_ALIASES[key(part)];
const isUsState = (part: string) => Object.hasOwn(US_STATES, key(part)) || STATE_NAMES.has(key(part));
/** States whose name is also a city or a country people live in: alone, they are matched as that place. */
const ALSO_A_PLACE = new Set(["new york", "washington", "georgia"]);
/** A state written alone (a name or a code), which the people data can't match. */
const stateAlone = (part: string) => isUsState(part) && !ALSO_A_PLACE.has(key(part));

const refuse = (value: string, why: string) =>
  new ApiError("validation_failed", `person_locations "${value}": ${why}`, {
    fields: [{ field: "person_locations", message: `"${value}": ${why}` }],
  });

/**
 * One of Apollo's `person_locations` as the people search matches it. Apollo's clients write a place
 * as a city, a country, "City, ST", "City, Country" or "City, State, Country"; the people data keeps a
 * city and a country, no state. So a state names a US city's country (its state can't be checked), and
 * a state alone ("California", "California, US") is refused: matched as a city it found no one, silently.
 */
export function parseLocation(value: string): PeopleLocation {
  const parts = value
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const stateOnly = () =>
    refuse(
      value,
      'Seqflare\'s people have a city and a country, not a state: send cities ("San Francisco, CA") or the country ("United States")',
    );
  if (parts.length === 1) {
    const only = parts[0]!;
    const country = countryOf(only);
    if (country) return { country };
    if (stateAlone(only)) throw stateOnly();
    // A city or a country as the people data spells it ("Berlin", "Germany").
    return { place: only };
  }
  if (parts.length === 2) {
    const [city, where] = parts as [string, string];
    const country = countryOf(where);
    if (country) {
      if (country === "United States" && stateAlone(city)) throw stateOnly();
      return { city, country };
    }
    if (isUsState(where)) return { city, country: "United States" };
    // "Berlin, Germany": the country as the people data spells it.
    return { city, country: where };
  }
  if (parts.length === 3) {
    const [city, region, where] = parts as [string, string, string];
    const country = countryOf(where) ?? where;
    if (country === "United States" && !isUsState(region)) throw refuse(value, `"${region}" is not a US state`);
    return { city, country };
  }
  throw refuse(value, 'write a place as "City", "Country", "City, ST" or "City, State, Country"');
}
