CREATE TABLE "limit_alerts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" text NOT NULL,
	"limit_name" text NOT NULL,
	"period" text NOT NULL,
	"threshold" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "billing_outbox_unsent_idx";--> statement-breakpoint
DROP INDEX "usage_events_user_time_idx";--> statement-breakpoint
DROP INDEX "usage_events_key_time_idx";--> statement-breakpoint
DROP INDEX "usage_events_team_time_idx";--> statement-breakpoint
ALTER TABLE "billing_outbox" ADD COLUMN "next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "billing_outbox" ADD COLUMN "claimed_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "billing_outbox" ADD COLUMN "dead_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "billing_outbox" ADD COLUMN "last_error" text;--> statement-breakpoint
CREATE UNIQUE INDEX "limit_alerts_once_idx" ON "limit_alerts" USING btree ("subject_type","subject_id","limit_name","period","threshold");--> statement-breakpoint
CREATE INDEX "billing_outbox_due_idx" ON "billing_outbox" USING btree ("next_attempt_at","id") WHERE "billing_outbox"."sent_at" is null and "billing_outbox"."dead_at" is null;--> statement-breakpoint
CREATE INDEX "billing_outbox_dead_idx" ON "billing_outbox" USING btree ("dead_at") WHERE "billing_outbox"."dead_at" is not null;--> statement-breakpoint
CREATE INDEX "usage_events_time_idx" ON "usage_events" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "usage_events_user_time_idx" ON "usage_events" USING btree ("user_id","created_at","id");--> statement-breakpoint
CREATE INDEX "usage_events_key_time_idx" ON "usage_events" USING btree ("key_id","created_at","id");--> statement-breakpoint
CREATE INDEX "usage_events_team_time_idx" ON "usage_events" USING btree ("team_id","created_at","id");