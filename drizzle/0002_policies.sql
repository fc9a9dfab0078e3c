CREATE TABLE "computed_points" (
	"point_id" integer PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"model_id" integer NOT NULL,
	"model_version" integer NOT NULL,
	"kind" text NOT NULL,
	"expression" text,
	"source_point_id" integer,
	"window_function" text,
	"window_s" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_policy_state" (
	"model_id" integer PRIMARY KEY NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "point_normalized_1m" (
	"time" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"num" double precision,
	"bool" boolean,
	"txt" text,
	"json" jsonb,
	"quality" smallint,
	"source_time" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "point_normalized_1m_device_id_point_id_time_pk" PRIMARY KEY("device_id","point_id","time")
);
--> statement-breakpoint
CREATE TABLE "point_raw_values" (
	"time" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"num" double precision,
	"bool" boolean,
	"txt" text,
	"json" jsonb,
	"quality" smallint,
	"ingested_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "point_raw_values_device_id_point_id_time_pk" PRIMARY KEY("device_id","point_id","time")
);
--> statement-breakpoint
CREATE TABLE "processing_policies" (
	"point_id" integer PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"model_id" integer NOT NULL,
	"model_version" integer NOT NULL,
	"steps" jsonb NOT NULL,
	"keep_raw" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollup_1d" (
	"bucket" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"count" integer NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"first_time" timestamp (3) with time zone NOT NULL,
	"first_value" double precision NOT NULL,
	"last_time" timestamp (3) with time zone NOT NULL,
	"last_value" double precision NOT NULL,
	CONSTRAINT "rollup_1d_device_id_point_id_bucket_pk" PRIMARY KEY("device_id","point_id","bucket")
);
--> statement-breakpoint
CREATE TABLE "rollup_1h" (
	"bucket" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"count" integer NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"first_time" timestamp (3) with time zone NOT NULL,
	"first_value" double precision NOT NULL,
	"last_time" timestamp (3) with time zone NOT NULL,
	"last_value" double precision NOT NULL,
	CONSTRAINT "rollup_1h_device_id_point_id_bucket_pk" PRIMARY KEY("device_id","point_id","bucket")
);
--> statement-breakpoint
CREATE TABLE "rollup_1m" (
	"bucket" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"count" integer NOT NULL,
	"sum" double precision NOT NULL,
	"min" double precision NOT NULL,
	"max" double precision NOT NULL,
	"first_time" timestamp (3) with time zone NOT NULL,
	"first_value" double precision NOT NULL,
	"last_time" timestamp (3) with time zone NOT NULL,
	"last_value" double precision NOT NULL,
	CONSTRAINT "rollup_1m_device_id_point_id_bucket_pk" PRIMARY KEY("device_id","point_id","bucket")
);
--> statement-breakpoint
CREATE TABLE "rollup_coverage" (
	"point_id" integer NOT NULL,
	"form" text NOT NULL,
	"since" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "rollup_coverage_point_id_form_pk" PRIMARY KEY("point_id","form")
);
--> statement-breakpoint
CREATE TABLE "storage_policies" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"model_id" integer NOT NULL,
	"name" text NOT NULL,
	"is_model_default" boolean DEFAULT false NOT NULL,
	"model_version" integer NOT NULL,
	"forms" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "storage_policy_points" (
	"point_id" integer PRIMARY KEY NOT NULL,
	"policy_id" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "computed_points" ADD CONSTRAINT "computed_points_point_id_model_features_id_fk" FOREIGN KEY ("point_id") REFERENCES "public"."model_features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computed_points" ADD CONSTRAINT "computed_points_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computed_points" ADD CONSTRAINT "computed_points_model_id_thing_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."thing_models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "computed_points" ADD CONSTRAINT "computed_points_source_point_id_model_features_id_fk" FOREIGN KEY ("source_point_id") REFERENCES "public"."model_features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_policy_state" ADD CONSTRAINT "model_policy_state_model_id_thing_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."thing_models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "processing_policies" ADD CONSTRAINT "processing_policies_point_id_model_features_id_fk" FOREIGN KEY ("point_id") REFERENCES "public"."model_features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "processing_policies" ADD CONSTRAINT "processing_policies_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "processing_policies" ADD CONSTRAINT "processing_policies_model_id_thing_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."thing_models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollup_coverage" ADD CONSTRAINT "rollup_coverage_point_id_model_features_id_fk" FOREIGN KEY ("point_id") REFERENCES "public"."model_features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_policies" ADD CONSTRAINT "storage_policies_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_policies" ADD CONSTRAINT "storage_policies_model_id_thing_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."thing_models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_policy_points" ADD CONSTRAINT "storage_policy_points_point_id_model_features_id_fk" FOREIGN KEY ("point_id") REFERENCES "public"."model_features"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "storage_policy_points" ADD CONSTRAINT "storage_policy_points_policy_id_storage_policies_id_fk" FOREIGN KEY ("policy_id") REFERENCES "public"."storage_policies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "computed_points_model" ON "computed_points" USING btree ("model_id");--> statement-breakpoint
CREATE INDEX "point_normalized_1m_time" ON "point_normalized_1m" USING btree ("time");--> statement-breakpoint
CREATE INDEX "point_raw_values_time" ON "point_raw_values" USING btree ("time");--> statement-breakpoint
CREATE INDEX "rollup_1d_bucket" ON "rollup_1d" USING btree ("bucket");--> statement-breakpoint
CREATE INDEX "rollup_1h_bucket" ON "rollup_1h" USING btree ("bucket");--> statement-breakpoint
CREATE INDEX "rollup_1m_bucket" ON "rollup_1m" USING btree ("bucket");--> statement-breakpoint
CREATE UNIQUE INDEX "storage_policies_model_name" ON "storage_policies" USING btree ("model_id","name");--> statement-breakpoint
CREATE INDEX "storage_policy_points_policy" ON "storage_policy_points" USING btree ("policy_id");