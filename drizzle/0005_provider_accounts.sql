CREATE TABLE "provider_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"provider" text NOT NULL,
	"subject" text,
	"email" text,
	"scopes" text DEFAULT '' NOT NULL,
	"ciphertext" text NOT NULL,
	"iv" text NOT NULL,
	"wrapped_key" text NOT NULL,
	"kek_version" integer DEFAULT 1 NOT NULL,
	"allow_fallback" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "provider_accounts" ADD CONSTRAINT "provider_accounts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "provider_accounts_user_idx" ON "provider_accounts" USING btree ("user_id","provider");