// IBANs of many countries, each completed with its mod-97 check digits, and
// the same with wrong ones; strings of the shape that are no IBAN.
import { iban, labelled } from "./make.ts";

/** `??` is the check digits. */
const ACCOUNTS = [
  "DE?? 3704 0044 0532 0130 00",
  "GB?? WEST 1234 5698 7654 32",
  "FR?? 2004 1010 0505 0001 3M02 606",
  "ES?? 2100 0418 4502 0005 1332",
  "IT?? X054 2811 1010 0000 0123 456",
  "NL?? ABNA 0417 1643 00",
  "BE?? 5390 0754 7034",
  "CH?? 0076 2011 6238 5295 7",
  "AT?? 1904 3002 3457 3201",
  "PL?? 1090 1014 0000 0712 1981 2874",
  "SE?? 5000 0000 0583 9825 7466",
  "NO?? 8601 1117 947",
  "DK?? 0040 0440 1162 43",
  "FI?? 1234 5600 0007 85",
  "IE?? AIBK 9311 5212 3456 78",
  "PT?? 0002 0123 1234 5678 9015 4",
  "LU?? 0019 4006 4475 0000",
  "SA?? 8000 0000 6080 1016 7519",
  "AE?? 0331 2345 6789 0123 456",
  "BR?? 0036 0305 0000 1000 9795 493P 1",
  "TR?? 0006 1005 1978 6457 8413 26",
  "GR?? 0110 1250 0000 0001 2300 695",
  "HU?? 1177 3016 1111 1018 0000 0000",
  "CZ?? 0800 0000 1920 0014 5399",
  "RO?? AAAA 1B31 0075 9384 0000",
  "BG?? BNBG 9661 1020 3456 78",
  "MT?? MALT 0110 0001 2345 MTLC AST0 01S",
];

const compact = (account: string) => account.replace(/ /g, "");

const POSITIVES = [
  ...ACCOUNTS.map((account) => `IBAN: ⟦${iban(account)}⟧, thanks`),
  ...ACCOUNTS.slice(0, 8).map((account) => `to ⟦${iban(compact(account))}⟧.`),
  `Pay to ⟦${iban("BE?? 5390 0754 7034")}⟧ SEPA`,
  `⟦${iban("BE??539007547034")}⟧ EUR`,
  `{"iban":"⟦${iban("NL??ABNA0417164300")}⟧"}`,
];

const NEAR_MISSES = [
  ...ACCOUNTS.slice(0, 16).map((account) => `IBAN: ${iban(account, false)}, thanks`),
  // Two digits swapped: mod 97 catches it.
  `IBAN ${iban("DE?? 3704 0044 0532 0130 00").replace("0532", "0523")}`,
  // The right checksum at the wrong length for the country.
  `IBAN ${iban("DE?? 3704 0044 0532 0130")}`,
  `IBAN ${iban("GB?? WEST 1234 5698 7654")}`,
  "US12345678901234",
  "AB12 CDEF GHIJ KLMN",
  "ISO 9001 2015",
  "SWIFT DEUTDEFF500",
  "XK12 3456 7890 1234",
  "RFC 7231 SECTION 6",
  "PART AB12 CDEF 3456 GH78",
  "DE12ABCDEF0123456789",
  "batch GB00 0000 0000 0000 0000 00",
];

export const IBAN = [...POSITIVES, ...NEAR_MISSES].map((text) => labelled("iban", text));
