-- The defaults every new user starts with, kept as a row so operators can change them.
INSERT INTO "quota_policies" ("scope", "subject_id", "tokens_per_day", "tokens_per_month", "requests_per_minute")
VALUES ('default', '', 10000, 300000, 10)
ON CONFLICT ("scope", "subject_id") DO NOTHING;
