// Ordinary text with numbers, dates, code and logs in it, where no detector
// may find anything: the background every detector's precision is read over.
import { labelled } from "./make.ts";

const TEXTS = [
  "The quarterly review covers revenue, hiring and the roadmap for the next two releases; tickets fell 12% in March.",
  "Release 2.14.0 (2024-03-05) fixes #4521 and #4530; upgrade with `npm i sluice@2.14.0`.",
  "for (let i = 0; i < 1024; i += 16) { buffer[i] = key ^ mask; }",
  "SELECT id, created_at FROM orders WHERE total > 1000 AND created_at >= '2024-01-01 00:00:00' LIMIT 50;",
  "2024-06-01T08:15:30.123Z INFO request done in 123 ms, status=200, bytes=40960, retries=0",
  "Table 3: 1,024 rows; 256 columns; 65,536 cells; mean 3.1415, sd 0.577.",
  "The meeting moved from 10:30 to 11:45 on 12/03; room B-204, floor 2.",
  "def lookup(key: str) -> bytes: return cache.get(key) or load(key)",
  "Coordinates 51.5074 N, 0.1278 W; elevation 11 m; population 8,982,000.",
  "Chapter 7, verses 3:16-3:21; pages 214-230 of the 1998 edition (ISBN pending).",
  "docker run -p 8080:80 -e MODE=prod image:1.25.3 --memory 512m",
  "The hash of the file is 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.",
  "Order #100234 shipped in 3 boxes weighing 12.5, 7.25 and 3 kg; ETA 2-4 days.",
  'const config = { retries: 3, timeoutMs: 30_000, apiKeyHeader: "x-api-key" };',
  "Invoice 2024-0042: 14 hours at 95.00 = 1,330.00, VAT 20% = 266.00, total 1,596.00.",
];

export const PROSE = TEXTS.map((text) => labelled("prose", text));
