// The checks a number carries in itself, which tell a card number or an
// IBAN from digits of the same shape: card networks' prefixes and lengths
// with the Luhn digit, and IBAN countries' lengths with the mod-97 digits.

/** The Luhn check card numbers carry in their last digit. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * Whether a network issues numbers that start so and are this long (Visa,
 * Mastercard, Mir, Amex, Diners, JCB, Discover, UnionPay, Maestro): a
 * millisecond timestamp, an IMEI or an order number that passes Luhn does not.
 */
export function cardNetworkFits(digits: string): boolean {
  const length = digits.length;
  const two = Number(digits.slice(0, 2));
  const four = Number(digits.slice(0, 4));
  if (digits[0] === "4") return length === 13 || length === 16 || length === 19;
  if ((two >= 51 && two <= 55) || (four >= 2221 && four <= 2720)) return length === 16;
  if (four >= 2200 && four <= 2204) return length >= 16;
  if (two === 34 || two === 37) return length === 15;
  if (two === 30 || two === 36 || two === 38 || two === 39) return length >= 14;
  if (four >= 3528 && four <= 3589) return length >= 16;
  return two === 50 || (two >= 56 && two <= 58) || digits[0] === "6";
}

/** A card number: a network's prefix and length, the Luhn digit, and not one digit throughout (0000 0000 … passes Luhn). */
export const cardNumberValid = (digits: string): boolean =>
  cardNetworkFits(digits) && luhnValid(digits) && !/^(\d)\1+$/.test(digits);

/** IBAN lengths by country (ISO 13616's registry); a country not listed is held to the checksum alone. */
const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map(
  (
    "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 DE22 DK18 DO28 EE20 EG29 ES24 FI18 " +
    "FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 " +
    "LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 " +
    "SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 VG24 XK20"
  )
    .split(" ")
    .map((entry) => [entry.slice(0, 2), Number(entry.slice(2))]),
);

/** ISO 13616: the country's length, then the country and check digits moved to the end, letters as numbers, the whole mod 97 is 1. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const length = IBAN_LENGTHS.get(compact.slice(0, 2));
  if (length !== undefined && compact.length !== length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const value = char >= "A" ? String(char.charCodeAt(0) - 55) : char;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}
