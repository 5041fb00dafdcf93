// Where a provider deployment runs, as facts: the region an endpoint's host
// names (Bedrock's `bedrock-runtime.<region>.amazonaws.com`, Vertex AI's
// `<location>-aiplatform.googleapis.com`, OpenAI's `eu.api.openai.com`…) and
// the jurisdiction a region lies in (`eu-west-1` → `eu`). A region these
// tables do not know has no jurisdiction: data controls treat it as unknown.

/** Where a region's data stays, as data controls name it. `global`: no single jurisdiction (a global endpoint). */
export const JURISDICTIONS = ["eu", "uk", "ch", "us", "ca", "apac", "sa", "me", "af", "global"] as const;
export type Jurisdiction = (typeof JURISDICTIONS)[number];

/** A region's name: AWS (`eu-west-1`), Google (`europe-west4`), Azure (`westeurope`), or a jurisdiction itself. */
export const REGION_NAME = /^[a-z][a-z0-9-]{1,62}$/;

/** Regions whose prefix would say otherwise: London and Zurich are not in the EU. */
const EXACT: Readonly<Record<string, Jurisdiction>> = {
  "eu-west-2": "uk",
  "eu-central-2": "ch",
  "europe-west2": "uk",
  "europe-west6": "ch",
  uksouth: "uk",
  ukwest: "uk",
  switzerlandnorth: "ch",
  switzerlandwest: "ch",
};

/** Name patterns, first match wins: AWS's and Google's prefixes, then Azure's spelled-out names. */
const PATTERNS: readonly (readonly [RegExp, Jurisdiction])[] = [
  [/^(eu|europe)-/, "eu"],
  [/^(west|north)europe$|^(france|germany|sweden|poland|italy|spain|austria|belgium|denmark)[a-z]+$/, "eu"],
  [/^us-|^(east|west|central|northcentral|southcentral|westcentral)us\d?$/, "us"],
  [/^ca-|^northamerica-northeast|^canada[a-z]+$/, "ca"],
  [/^(ap|asia|australia)-|^(japan|korea|australia|southeastasia|eastasia)[a-z]*$/, "apac"],
  [/^(sa|southamerica)-|^brazil[a-z]+$/, "sa"],
  [/^(me|il)-/, "me"],
  [/^af-/, "af"],
];

/** The jurisdiction a region lies in; undefined when these tables do not know it. */
export function jurisdictionOf(region: string): Jurisdiction | undefined {
  if ((JURISDICTIONS as readonly string[]).includes(region)) return region as Jurisdiction;
  return EXACT[region] ?? PATTERNS.find(([pattern]) => pattern.test(region))?.[1];
}

/** Hosts that name their region, and what each says: a captured region, or a fixed one. */
const HOSTS: readonly (readonly [RegExp, string | null])[] = [
  [/(?:^|\.)bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com$/, null],
  [/^([a-z0-9-]+)-aiplatform\.googleapis\.com$/, null],
  [/^aiplatform\.googleapis\.com$/, "global"],
  [/^eu\.api\.openai\.com$/, "eu"],
  [/^api\.openai\.com$/, "global"],
  [/^api\.anthropic\.com$/, "global"],
  [/^generativelanguage\.googleapis\.com$/, "global"],
];

/** The region an endpoint's URL names; undefined for a host that does not say (a proxy, Azure, a server of one's own). */
export function regionFromUrl(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  for (const [pattern, fixed] of HOSTS) {
    const match = pattern.exec(host);
    if (match) return fixed ?? match[1];
  }
  return undefined;
}

/** Whether a deployment in `region` matches an entry of an allowed list: the exact region, or its jurisdiction. */
export function regionMatches(region: string, entry: string): boolean {
  return region === entry || jurisdictionOf(region) === entry;
}
