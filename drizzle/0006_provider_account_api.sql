ALTER TABLE "provider_accounts" ADD COLUMN "api" text DEFAULT 'generative-language' NOT NULL;--> statement-breakpoint
ALTER TABLE "provider_accounts" ADD COLUMN "project" text;