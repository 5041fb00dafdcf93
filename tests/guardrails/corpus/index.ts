// The labelled corpus every built-in detector is scored against: each
// detector's positives and near misses, and ordinary text, all read by every
// detector, so one kind's values are near misses for the others.
import { CARD } from "./card.ts";
import { EMAIL } from "./email.ts";
import { IBAN } from "./iban.ts";
import { IP } from "./ip.ts";
import type { CorpusText } from "./make.ts";
import { PHONE } from "./phone.ts";
import { PROSE } from "./prose.ts";
import { SECRET } from "./secret.ts";
import { SSN } from "./ssn.ts";

export type { CorpusText, LabelledSpan } from "./make.ts";

export const CORPUS: readonly CorpusText[] = [...EMAIL, ...PHONE, ...CARD, ...IBAN, ...SSN, ...IP, ...SECRET, ...PROSE];
