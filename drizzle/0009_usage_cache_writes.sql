ALTER TABLE "models" ADD COLUMN "cache_write_usd_per_mtok" double precision;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "cache_write_tokens" integer DEFAULT 0 NOT NULL;