CREATE TABLE "routes" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text,
	"rule" jsonb NOT NULL,
	"fallbacks" text[] DEFAULT '{}'::text[] NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
