-- The model catalog's starting point: the built-in providers and well-known
-- models at their list prices (USD per million tokens). Operators change it
-- through /admin/models and /admin/providers; rows already there are kept.
INSERT INTO "providers" ("id", "kind") VALUES
  ('openai', 'openai'),
  ('anthropic', 'anthropic'),
  ('gemini', 'gemini'),
  ('mistral', 'mistral')
ON CONFLICT ("id") DO NOTHING;
--> statement-breakpoint
INSERT INTO "models" ("id", "provider_id", "upstream_id", "input_usd_per_mtok", "output_usd_per_mtok", "cached_input_usd_per_mtok", "context_window", "max_output_tokens") VALUES
  ('gpt-5', 'openai', 'gpt-5', 1.25, 10, 0.125, 400000, 128000),
  ('gpt-5-mini', 'openai', 'gpt-5-mini', 0.25, 2, 0.025, 400000, 128000),
  ('gpt-5-nano', 'openai', 'gpt-5-nano', 0.05, 0.4, 0.005, 400000, 128000),
  ('gpt-4.1', 'openai', 'gpt-4.1', 2, 8, 0.5, 1047576, 32768),
  ('gpt-4.1-mini', 'openai', 'gpt-4.1-mini', 0.4, 1.6, 0.1, 1047576, 32768),
  ('gpt-4.1-nano', 'openai', 'gpt-4.1-nano', 0.1, 0.4, 0.025, 1047576, 32768),
  ('gpt-4o', 'openai', 'gpt-4o', 2.5, 10, 1.25, 128000, 16384),
  ('gpt-4o-mini', 'openai', 'gpt-4o-mini', 0.15, 0.6, 0.075, 128000, 16384),
  ('o3', 'openai', 'o3', 2, 8, 0.5, 200000, 100000),
  ('o4-mini', 'openai', 'o4-mini', 1.1, 4.4, 0.275, 200000, 100000),
  ('text-embedding-3-small', 'openai', 'text-embedding-3-small', 0.02, 0, NULL, 8191, NULL),
  ('text-embedding-3-large', 'openai', 'text-embedding-3-large', 0.13, 0, NULL, 8191, NULL),
  ('claude-opus-4-1', 'anthropic', 'claude-opus-4-1-20250805', 15, 75, 1.5, 200000, 32000),
  ('claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5-20250929', 3, 15, 0.3, 200000, 64000),
  ('claude-sonnet-4', 'anthropic', 'claude-sonnet-4-20250514', 3, 15, 0.3, 200000, 64000),
  ('claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5-20251001', 1, 5, 0.1, 200000, 64000),
  ('claude-3-5-haiku', 'anthropic', 'claude-3-5-haiku-20241022', 0.8, 4, 0.08, 200000, 8192),
  ('gemini-2.5-pro', 'gemini', 'gemini-2.5-pro', 1.25, 10, 0.31, 1048576, 65536),
  ('gemini-2.5-flash', 'gemini', 'gemini-2.5-flash', 0.3, 2.5, 0.075, 1048576, 65536),
  ('gemini-2.5-flash-lite', 'gemini', 'gemini-2.5-flash-lite', 0.1, 0.4, 0.025, 1048576, 65536),
  ('gemini-2.0-flash', 'gemini', 'gemini-2.0-flash', 0.1, 0.4, 0.025, 1048576, 8192),
  ('mistral-large-latest', 'mistral', 'mistral-large-latest', 2, 6, NULL, 131072, NULL),
  ('mistral-small-latest', 'mistral', 'mistral-small-latest', 0.1, 0.3, NULL, 131072, NULL),
  ('codestral-latest', 'mistral', 'codestral-latest', 0.3, 0.9, NULL, 256000, NULL)
ON CONFLICT ("id") DO NOTHING;
