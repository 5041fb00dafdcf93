// US social security numbers, and numbers of the same shape that are never
// issued or that are something else.
import { labelled } from "./make.ts";

const NUMBERS = [
  "123-45-6789",
  "078-05-1120",
  "219-09-9999",
  "457-55-5462",
  "001-01-0001",
  "665-12-3456",
  "667-12-3456",
  "899-99-9999",
  "536-22-1234",
  "772-10-4545",
  "404-33-2020",
  "310-58-7741",
];

const POSITIVES = [
  ...NUMBERS.map((ssn) => `SSN ⟦${ssn}⟧ on the form`),
  "SSN: ⟦123-45-6789⟧.",
  '{"ssn": "⟦536-22-1234⟧"}',
  "ssn=⟦772-10-4545⟧&dob=1980-02-03",
  "(⟦404-33-2020⟧)",
  "⟦310-58-7741⟧,⟦219-09-9999⟧",
  "social security number ⟦123 45 6789⟧",
  "SSN ⟦457 55 5462⟧ verified",
  "Employee 17, SSN ⟦078-05-1120⟧, hired 2019",
  "his number is ⟦665-12-3456⟧ and hers ⟦667-12-3456⟧",
];

const NEAR_MISSES = [
  "000-12-3456",
  "666-12-3456",
  "900-12-3456",
  "999-99-9999",
  "123-00-4567",
  "123-45-0000",
  "123456789",
  "1123-45-6789",
  "123-45-67890",
  "ref-123-45-6789",
  "123-45-6789-01",
  "call ⟦phone|415-555-2671⟧",
  "2024-01-15",
  "EIN 12-3456789",
  "ZIP 94105-1234",
  "ISBN 0-306-40615-2",
  "CVE-2024-12345",
  "123-45 6789",
  "part 12-34-5678",
  "lot 123-456-7890-12",
  "⟦phone|+33 612 34 5678⟧",
  "sizes 100 200 3000",
  "rows 123 45 67890",
  "2023-12-31 23:59",
];

export const SSN = [...POSITIVES, ...NEAR_MISSES].map((text) => labelled("ssn", text));
