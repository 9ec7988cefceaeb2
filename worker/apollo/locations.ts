import { countryOf } from "../lib/countries";
import { ApiError } from "../lib/errors";
import type { PeopleLocation } from "../services/people-search";

/**
 * Regions written where a country goes ("Toronto, ON", "London, England", "Munich, Bavaria"): the people
 * data has no region, so each names its country. No US state code is among them (those are US_STATES).
 */
const REGIONS: Record<string, string> = {
  ...Object.fromEntries(
    [
      ["on", "Ontario"],
      ["qc", "Quebec"],
      ["bc", "British Columbia"],
      ["ab", "Alberta"],
      ["mb", "Manitoba"],
      ["sk", "Saskatchewan"],
      ["ns", "Nova Scotia"],
      ["nb", "New Brunswick"],
      ["nl", "Newfoundland and Labrador"],
      ["pe", "Prince Edward Island"],
      ["nt", "Northwest Territories"],
      ["yt", "Yukon"],
      ["nu", "Nunavut"],
    ].flatMap(([code, name]) => [
      [code!, "Canada"],
      [name!.toLowerCase(), "Canada"],
    ]),
  ),
  québec: "Canada",
  england: "United Kingdom",
  scotland: "United Kingdom",
  wales: "United Kingdom",
  "northern ireland": "United Kingdom",
  bavaria: "Germany",
  bayern: "Germany",
  "baden-württemberg": "Germany",
  "baden-wurttemberg": "Germany",
  hesse: "Germany",
  hessen: "Germany",
  "north rhine-westphalia": "Germany",
  "nordrhein-westfalen": "Germany",
  "lower saxony": "Germany",
  saxony: "Germany",
  "new south wales": "Australia",
  nsw: "Australia",
  victoria: "Australia",
  vic: "Australia",
  queensland: "Australia",
  qld: "Australia",
  "western australia": "Australia",
  "south australia": "Australia",
  tasmania: "Australia",
  "australian capital territory": "Australia",
  act: "Australia",
  catalonia: "Spain",
  catalunya: "Spain",
  andalusia: "Spain",
  lombardy: "Italy",
  lombardia: "Italy",
  "île-de-france": "France",
  "ile-de-france": "France",
  maharashtra: "India",
  karnataka: "India",
  "north holland": "Netherlands",
  "noord-holland": "Netherlands",
  "são paulo": "Brazil",
  "sao paulo": "Brazil",
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
// Own keys only: "constructor" is no country.
const lookup = (map: Record<string, string>, part: string) => (Object.hasOwn(map, key(part)) ? map[key(part)] : undefined);
const regionOf = (part: string) => lookup(REGIONS, part);
const isUsState = (part: string) => Object.hasOwn(US_STATES, key(part)) || STATE_NAMES.has(key(part));
/** States whose name is also a US city: "New York, US" is the city. */
const ALSO_A_US_CITY = new Set(["new york", "washington"]);
/** States whose name is also a city or a country people live in: alone, they are matched as that place. */
const ALSO_A_PLACE = new Set([...ALSO_A_US_CITY, "georgia"]);
/** A state written alone (a name or a code), which the people data can't match. */
const stateAlone = (part: string) => isUsState(part) && !ALSO_A_PLACE.has(key(part));
/** Regions whose name is also a city people live in ("Victoria", "São Paulo"): alone, they are that city. */
const REGIONS_ALSO_CITIES = new Set(["victoria", "québec", "quebec", "são paulo", "sao paulo"]);

const refuse = (value: string, why: string) =>
  new ApiError("validation_failed", `person_locations "${value}": ${why}`, {
    fields: [{ field: "person_locations", message: `"${value}": ${why}` }],
  });

/**
 * One of Apollo's `person_locations` as the people search matches it. Apollo's clients write a place
 * as a city, a country, "City, ST", "City, Country" or "City, State, Country"; the people data keeps a
 * city and a country, no state. So a state names a US city's country (its state can't be checked), and
 * a state alone ("California", "California, US") is refused: matched as a city it found no one, silently.
 * Likewise a Canadian province, UK nation or other known region in the country's place ("Toronto, ON",
 * "London, England") names its country, and a country part Seqflare doesn't know is refused, not matched to no one.
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
  const regionOnly = () =>
    refuse(value, 'Seqflare\'s people have a city and a country, not a region: send cities ("Toronto, ON") or the country ("Canada")');
  // Matched as nobody, silently, before: a country part must be one the people data has.
  const notACountry = (part: string) =>
    refuse(value, `"${part}" is not a country, US state or region Seqflare knows: write "City, Country" ("Berlin, Germany") or "City, ST"`);
  if (parts.length === 1) {
    const only = parts[0]!;
    const country = countryOf(only);
    if (country) return { country };
    if (stateAlone(only)) throw stateOnly();
    if (regionOf(only) && !REGIONS_ALSO_CITIES.has(key(only))) throw regionOnly();
    // A city ("Berlin").
    return { place: only };
  }
  if (parts.length === 2) {
    const [city, where] = parts as [string, string];
    // A state before a country of the same name: "Atlanta, Georgia" is in the United States.
    const country = isUsState(where) ? "United States" : (countryOf(where) ?? regionOf(where));
    if (!country) throw notACountry(where);
    if (country === "United States" && isUsState(city) && !ALSO_A_US_CITY.has(key(city))) throw stateOnly();
    if (regionOf(city) && !REGIONS_ALSO_CITIES.has(key(city)) && regionOf(city) === country) throw regionOnly();
    return { city, country };
  }
  if (parts.length === 3) {
    const [city, region, where] = parts as [string, string, string];
    const country = countryOf(where);
    if (!country) throw notACountry(where);
    if (country === "United States" && !isUsState(region)) throw refuse(value, `"${region}" is not a US state`);
    return { city, country };
  }
  throw refuse(value, 'write a place as "City", "Country", "City, ST" or "City, State, Country"');
}
