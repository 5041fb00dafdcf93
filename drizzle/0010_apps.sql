CREATE TABLE "apps" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"publishable_key" text NOT NULL,
	"allowed_origins" text[] DEFAULT '{}'::text[] NOT NULL,
	"ios_bundle_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"android_packages" text[] DEFAULT '{}'::text[] NOT NULL,
	"models" text[],
	"proofs" text[] DEFAULT '{}'::text[] NOT NULL,
	"app_check_project" text,
	"app_check_app_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"device_limits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"ip_limits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"guest_usd_per_day" double precision,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "app_id" text;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "device_id" text;--> statement-breakpoint
ALTER TABLE "usage_events" ADD COLUMN "ip_hash" text;--> statement-breakpoint
CREATE UNIQUE INDEX "apps_publishable_key_idx" ON "apps" USING btree ("publishable_key");--> statement-breakpoint
CREATE INDEX "usage_events_app_time_idx" ON "usage_events" USING btree ("app_id","created_at","id");