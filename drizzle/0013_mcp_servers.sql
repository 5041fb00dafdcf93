CREATE TABLE "mcp_calls" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"request_id" text NOT NULL,
	"server" text NOT NULL,
	"tool" text NOT NULL,
	"principal_type" text NOT NULL,
	"principal_id" text NOT NULL,
	"user_id" text,
	"key_id" text,
	"team_id" text,
	"status" text NOT NULL,
	"error" text,
	"latency_ms" integer NOT NULL,
	"bytes_in" integer DEFAULT 0 NOT NULL,
	"bytes_out" integer DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mcp_servers" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"description" text,
	"auth_type" text DEFAULT 'none' NOT NULL,
	"auth_header" text,
	"ciphertext" text,
	"iv" text,
	"wrapped_key" text,
	"kek_version" integer,
	"secret_suffix" text,
	"timeout_ms" integer DEFAULT 30000 NOT NULL,
	"price_per_call_usd" double precision,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "mcp_calls_request_idx" ON "mcp_calls" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "mcp_calls_server_time_idx" ON "mcp_calls" USING btree ("server","created_at");--> statement-breakpoint
CREATE INDEX "mcp_calls_key_time_idx" ON "mcp_calls" USING btree ("key_id","created_at");--> statement-breakpoint
CREATE INDEX "mcp_calls_user_time_idx" ON "mcp_calls" USING btree ("user_id","created_at");