// Payment card numbers, each completed with its Luhn digit, and the same
// numbers with a wrong one; numbers that pass Luhn without being cards.
import { card, labelled } from "./make.ts";

/** Each network's lengths and groupings; `?` is the check digit. */
const NUMBERS = [
  "4539 1488 0343 646?", // Visa
  "4916-3385-0608-279?",
  "453201511283036?",
  "4024 0071 5336 ?", // Visa, 13 digits
  "4111 1111 1111 111?",
  "4242 4242 4242 424?",
  "5425 2334 3010 910?", // Mastercard
  "5105 1051 0510 510?",
  "2221 0012 3412 345?", // Mastercard's 2-series
  "2720 9912 3456 789?",
  "3782 822463 1000?", // American Express, 4-6-5
  "3714 496353 9843?",
  "34000000000000?",
  "6011 1111 1111 111?", // Discover
  "6011 0009 9013 942?",
  "6500 1234 5678 901?",
  "3530 1113 3330 000?", // JCB
  "3566 0020 2036 046?",
  "3056 930902 590?", // Diners Club, 4-6-4
  "3852000002323?",
  "6212 3456 7890 1234 56?", // UnionPay, 19 digits
  "6759 6498 2643 8453 ?", // Maestro, 17 digits
];

const POSITIVES = [
  ...NUMBERS.map((number) => `Card ⟦${card(number)}⟧ on file.`),
  `Card: ⟦${card("4539 1488 0343 646?")}⟧ exp 12/27 cvv 123`,
  `⟦${card("5425 2334 3010 910?")}⟧ 12/27 123`,
  `card_number=⟦${card("453201511283036?")}⟧&exp=1227`,
  `{"pan": "⟦${card("6011000990139424".replace(/4$/, "?"))}⟧", "cvc": "314"}`,
  `Pay with ⟦${card("3714 496353 9843?")}⟧.`,
  `ref 12 ⟦${card("4916 3385 0608 279?")}⟧`,
];

const NEAR_MISSES = [
  ...NUMBERS.map((number) => `Card ${card(number, false)} on file.`),
  "1234567890123",
  "0000 0000 0000 0000",
  "timestamp 17330000000001",
  `ms since epoch ${card("173330931234?")}`,
  `IMEI ${card("35209900176148?")}`,
  `IMEI ${card("86-012345-678901-?")}`,
  `order ${card("9876 5432 1098 765?")}`,
  `snowflake ${card("112233445566778899?")}`,
  `call ⟦phone|+${card("49 1512 345678?")}⟧`,
  "routing 021000021 account 123456789",
  `USPS ${card("9400 1000 0000 0000 0000 0?")}`,
  "ISBN 978-0-306-40615-7",
  "ending in 4242",
  "12 34 56 78 90 12 34 56",
];

export const CARD = [...POSITIVES, ...NEAR_MISSES].map((text) => labelled("card", text));
