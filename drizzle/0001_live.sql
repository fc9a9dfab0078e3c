CREATE TABLE "live_group_members" (
	"member_id" text PRIMARY KEY NOT NULL,
	"job_id" text NOT NULL,
	"group_name" text NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_group_offsets" (
	"job_id" text NOT NULL,
	"group_name" text NOT NULL,
	"partition" integer NOT NULL,
	"committed_offset" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "live_group_offsets_job_id_group_name_partition_pk" PRIMARY KEY("job_id","group_name","partition")
);
--> statement-breakpoint
CREATE TABLE "live_jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"filter" jsonb NOT NULL,
	"partitions" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_log_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"pruned_through" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "live_messages" (
	"log_offset" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"channel" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "live_group_members" ADD CONSTRAINT "live_group_members_job_id_live_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."live_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "live_group_offsets" ADD CONSTRAINT "live_group_offsets_job_id_live_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."live_jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "live_jobs" ADD CONSTRAINT "live_jobs_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "live_group_members_group" ON "live_group_members" USING btree ("job_id","group_name");--> statement-breakpoint
CREATE UNIQUE INDEX "live_jobs_org_name" ON "live_jobs" USING btree ("org_id","name");--> statement-breakpoint
CREATE INDEX "live_messages_org_offset" ON "live_messages" USING btree ("org_id","log_offset");--> statement-breakpoint
CREATE INDEX "live_messages_created" ON "live_messages" USING btree ("created_at");