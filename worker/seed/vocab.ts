// Vocabulary for the generated prospect database: enough variety that searches behave realistically.
export const FIRST_NAMES =
  "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Laura Edward Helen Jeffrey Sharon Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry Catherine Tyler Diane Aaron Julie Jose Victoria Adam Joyce Nathan Lauren Henry Kelly Zachary Christina Douglas Ruth Peter Joan Kyle Virginia Noah Judith Ethan Evelyn Jeremy Hannah Walter Andrea Christian Megan Keith Cheryl Roger Jacqueline Terry Madison Austin Teresa Sean Abigail Gerald Sophia Carl Martha Harold Sara Dylan Gloria Arthur Janice Lawrence Kathryn Jordan Ann Jesse Isabella Bryan Judy Billy Charlotte Bruce Julia Gabriel Grace Joe Amber Logan Alice Alan Jean Juan Denise Albert Frances Willie Danielle Elijah Marilyn Wayne Natalie Randy Beverly Vincent Diana Mason Brittany Roy Theresa Ralph Kayla Bobby Alexis Russell Doris Bradley Lori Philip Tiffany Eugene Priya Arjun Wei Mei Hiroshi Yuki Lars Ingrid Sven Astrid Mateo Lucia Diego Sofia Luca Giulia Pierre Camille Hans Greta Ahmed Fatima Omar Leila Kwame Amara Chen Lin Ravi Ananya Carlos Valentina Jonas Freya Mikko Aino Tomasz Zofia".split(
    " ",
  );

export const LAST_NAMES =
  "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Ray Berry Perkins Hoffman Johnston Matthews Pena Richards Willis Carpenter Lawrence Sandoval Sharma Gupta Tanaka Sato Larsen Nielsen Rossi Ferrari Dubois Moreau Muller Schneider Khan Hassan Mensah Okafor Wang Zhang Iyer Reddy Lindqvist Virtanen Kowalski Novak".split(
    " ",
  );

export const SENIORITIES = [
  ["owner", 2],
  ["founder", 2],
  ["c_suite", 5],
  ["partner", 1],
  ["vp", 7],
  ["head", 6],
  ["director", 14],
  ["manager", 24],
  ["senior", 20],
  ["entry", 16],
  ["intern", 3],
] as const;

export const DEPARTMENTS = [
  ["sales", 22],
  ["marketing", 14],
  ["engineering", 20],
  ["operations", 9],
  ["finance", 7],
  ["human_resources", 6],
  ["information_technology", 8],
  ["product", 7],
  ["customer_success", 5],
  ["legal", 2],
] as const;

const DEPT_TITLE: Record<string, string> = {
  sales: "Sales",
  marketing: "Marketing",
  engineering: "Engineering",
  operations: "Operations",
  finance: "Finance",
  human_resources: "People",
  information_technology: "IT",
  product: "Product",
  customer_success: "Customer Success",
  legal: "Legal",
};

const CSUITE: Record<string, string> = {
  sales: "Chief Revenue Officer",
  marketing: "Chief Marketing Officer",
  engineering: "Chief Technology Officer",
  operations: "Chief Operating Officer",
  finance: "Chief Financial Officer",
  human_resources: "Chief People Officer",
  information_technology: "Chief Information Officer",
  product: "Chief Product Officer",
  customer_success: "Chief Customer Officer",
  legal: "General Counsel",
};

const ROLE_NOUN: Record<string, readonly string[]> = {
  sales: ["Account Executive", "Sales Development Representative", "Business Development Representative", "Sales Engineer"],
  marketing: ["Marketing Specialist", "Growth Marketer", "Content Strategist", "Demand Generation Specialist"],
  engineering: ["Software Engineer", "Backend Engineer", "Frontend Engineer", "Data Engineer", "Site Reliability Engineer"],
  operations: ["Operations Analyst", "Revenue Operations Specialist", "Program Manager"],
  finance: ["Financial Analyst", "Accountant", "Controller"],
  human_resources: ["Recruiter", "People Partner", "Talent Acquisition Specialist"],
  information_technology: ["Systems Administrator", "IT Specialist", "Security Analyst"],
  product: ["Product Manager", "Product Designer", "UX Researcher"],
  customer_success: ["Customer Success Manager", "Account Manager", "Support Specialist"],
  legal: ["Counsel", "Paralegal", "Compliance Analyst"],
};

export function titleFor(seniority: string, department: string, pick: <T>(xs: readonly T[]) => T): string {
  const d = DEPT_TITLE[department] ?? "Operations";
  switch (seniority) {
    case "owner":
      return "Owner";
    case "founder":
      return pick(["Founder", "Co-Founder", "Founder & CEO"]);
    case "c_suite":
      return pick([CSUITE[department] ?? "Chief Executive Officer", "Chief Executive Officer"]);
    case "partner":
      return "Partner";
    case "vp":
      return `VP of ${d}`;
    case "head":
      return `Head of ${d}`;
    case "director":
      return pick([`Director of ${d}`, `${d} Director`, `Senior Director, ${d}`]);
    case "manager":
      return pick([`${d} Manager`, `Senior ${d} Manager`, `${d} Team Lead`]);
    case "senior":
      return `Senior ${pick(ROLE_NOUN[department] ?? ["Specialist"])}`;
    case "intern":
      return `${d} Intern`;
    default:
      return pick(ROLE_NOUN[department] ?? ["Specialist"]);
  }
}

export const INDUSTRIES = [
  "Computer Software",
  "Information Technology & Services",
  "Financial Services",
  "Marketing & Advertising",
  "Hospital & Health Care",
  "Retail",
  "Internet",
  "Higher Education",
  "Construction",
  "Real Estate",
  "Telecommunications",
  "Management Consulting",
  "Logistics & Supply Chain",
  "Insurance",
  "Automotive",
  "Biotechnology",
  "E-Learning",
  "Staffing & Recruiting",
  "Renewables & Environment",
  "Food & Beverages",
  "Media Production",
  "Legal Services",
  "Banking",
  "Computer & Network Security",
] as const;

/** [city, country, IANA zone] */
export const CITIES = [
  ["New York", "United States", "America/New_York"],
  ["San Francisco", "United States", "America/Los_Angeles"],
  ["Austin", "United States", "America/Chicago"],
  ["Chicago", "United States", "America/Chicago"],
  ["Boston", "United States", "America/New_York"],
  ["Seattle", "United States", "America/Los_Angeles"],
  ["Denver", "United States", "America/Denver"],
  ["Atlanta", "United States", "America/New_York"],
  ["Miami", "United States", "America/New_York"],
  ["Los Angeles", "United States", "America/Los_Angeles"],
  ["Phoenix", "United States", "America/Phoenix"],
  ["Toronto", "Canada", "America/Toronto"],
  ["Vancouver", "Canada", "America/Vancouver"],
  ["London", "United Kingdom", "Europe/London"],
  ["Manchester", "United Kingdom", "Europe/London"],
  ["Dublin", "Ireland", "Europe/Dublin"],
  ["Paris", "France", "Europe/Paris"],
  ["Berlin", "Germany", "Europe/Berlin"],
  ["Munich", "Germany", "Europe/Berlin"],
  ["Amsterdam", "Netherlands", "Europe/Amsterdam"],
  ["Stockholm", "Sweden", "Europe/Stockholm"],
  ["Madrid", "Spain", "Europe/Madrid"],
  ["Barcelona", "Spain", "Europe/Madrid"],
  ["Milan", "Italy", "Europe/Rome"],
  ["Zurich", "Switzerland", "Europe/Zurich"],
  ["Warsaw", "Poland", "Europe/Warsaw"],
  ["Helsinki", "Finland", "Europe/Helsinki"],
  ["Sydney", "Australia", "Australia/Sydney"],
  ["Melbourne", "Australia", "Australia/Melbourne"],
  ["Singapore", "Singapore", "Asia/Singapore"],
  ["Tokyo", "Japan", "Asia/Tokyo"],
  ["Bangalore", "India", "Asia/Kolkata"],
  ["Mumbai", "India", "Asia/Kolkata"],
  ["São Paulo", "Brazil", "America/Sao_Paulo"],
  ["Mexico City", "Mexico", "America/Mexico_City"],
  ["Tel Aviv", "Israel", "Asia/Jerusalem"],
  ["Dubai", "United Arab Emirates", "Asia/Dubai"],
  ["Lagos", "Nigeria", "Africa/Lagos"],
  ["Cape Town", "South Africa", "Africa/Johannesburg"],
] as const;

export const COMPANY_PREFIX =
  "Acme Apex Atlas Aurora Beacon Blue Bright Cedar Cobalt Copper Crest Delta Echo Ember Falcon Fern Forge Granite Harbor Helix Horizon Indigo Iron Juniper Keystone Lumen Maple Meridian Nimbus Northstar Nova Oak Onyx Orbit Pinnacle Pioneer Quantum Quartz Redwood Ridge River Sage Sierra Silver Solstice Spark Summit Terra Tidal True Vertex Vista Willow Zenith".split(
    " ",
  );
export const COMPANY_MIDDLE =
  "Bay Bridge Field Gate Grid Leaf Light Line Mark Path Peak Point Rock Stack Stone Wave Wind Star Spring Lake Hill Brook Glen Crown Shield Arrow Anchor Bloom".split(
    " ",
  );
export const COMPANY_SUFFIX =
  "Labs Systems Works Cloud Analytics Health Logistics Capital Partners Software Networks Dynamics Robotics Media Foods Energy Bio Learning Security Data Commerce Ventures Group Technologies".split(
    " ",
  );

/**
 * What the demo's past replies say (worker/seed/history.ts): positive ones (the contacts a rep then moved
 * to Interested) and the rest. Words a person writes, none of which the classifier reads as an
 * out-of-office or a removal request, so each is the reply the handler would have taken it for.
 */
export const REPLY_POSITIVE = [
  "Thanks for reaching out. This is timely, we're reviewing our outbound setup this quarter. Could you do Thursday at 2pm?",
  "Happy to take a look. Send over a couple of times next week and I'll pick one.",
  "Interesting. Can you share pricing for a team of about twenty? If it fits, let's set up a call.",
  "Yes, worth a conversation. Loop in my colleague who runs our SDR team as well.",
  "Good timing, we just lost a rep. What does onboarding look like? Free Tuesday afternoon.",
  "Sure, 15 minutes works. Tomorrow after 3pm my time?",
] as const;
export const REPLY_OTHER = [
  "Not a priority for us right now. Check back next quarter.",
  "We already use another tool for this and are under contract until the summer.",
  "I'm not the right person for this, you may want to talk to our head of sales.",
  "Thanks, but we handle outreach in-house for now.",
  "Budget is frozen until the new fiscal year. Feel free to follow up in a few months.",
  "Can you send a one-pager? I'll pass it along to the team.",
] as const;
