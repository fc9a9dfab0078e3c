CREATE TABLE "devices" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"product_id" integer NOT NULL,
	"device_key" text NOT NULL,
	"asset_id" text NOT NULL,
	"name" text NOT NULL,
	"timezone" text DEFAULT '+00:00' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'inactive' NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"measurepoint_last_update" timestamp with time zone,
	"attribute_last_update" timestamp with time zone,
	"event_last_update" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "model_features" (
	"id" serial PRIMARY KEY NOT NULL,
	"model_id" integer NOT NULL,
	"kind" text NOT NULL,
	"identifier" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"data_type" text,
	"definition" jsonb,
	"unit" text,
	"has_quality" boolean DEFAULT false NOT NULL,
	"signal_type" text,
	"event_level" text,
	"output_data" jsonb,
	"input_data" jsonb,
	"required" boolean DEFAULT false NOT NULL,
	"position" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organisations" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "products" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"product_key" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"model_id" integer NOT NULL,
	"data_format" text DEFAULT 'JSON' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "thing_models" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"identifier" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "access_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"sa_id" integer NOT NULL,
	"epoch" integer NOT NULL,
	"token_enc" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"replaced_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_accounts" (
	"id" serial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"access_key" text NOT NULL,
	"name" text NOT NULL,
	"secret_enc" text NOT NULL,
	"grants" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"epoch" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "token_nonces" (
	"encryption" text PRIMARY KEY NOT NULL,
	"seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "attribute_history" (
	"time" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"attribute_id" integer NOT NULL,
	"value" jsonb NOT NULL,
	"source" text DEFAULT 'ingest' NOT NULL,
	CONSTRAINT "attribute_history_device_id_attribute_id_time_pk" PRIMARY KEY("device_id","attribute_id","time")
);
--> statement-breakpoint
CREATE TABLE "attribute_values" (
	"device_id" integer NOT NULL,
	"attribute_id" integer NOT NULL,
	"value" jsonb NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "attribute_values_device_id_attribute_id_pk" PRIMARY KEY("device_id","attribute_id")
);
--> statement-breakpoint
CREATE TABLE "event_data" (
	"time" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"event_id" integer NOT NULL,
	"level" text NOT NULL,
	"params" jsonb NOT NULL,
	"offline" boolean DEFAULT false NOT NULL,
	"ingested_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "event_data_device_id_event_id_time_pk" PRIMARY KEY("device_id","event_id","time")
);
--> statement-breakpoint
CREATE TABLE "latest_values" (
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"time" timestamp (3) with time zone NOT NULL,
	"num" double precision,
	"bool" boolean,
	"txt" text,
	"json" jsonb,
	"quality" smallint,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "latest_values_device_id_point_id_pk" PRIMARY KEY("device_id","point_id")
);
--> statement-breakpoint
CREATE TABLE "point_data" (
	"time" timestamp (3) with time zone NOT NULL,
	"device_id" integer NOT NULL,
	"point_id" integer NOT NULL,
	"num" double precision,
	"bool" boolean,
	"txt" text,
	"json" jsonb,
	"quality" smallint,
	"offline" boolean DEFAULT false NOT NULL,
	"ingested_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "point_data_device_id_point_id_time_pk" PRIMARY KEY("device_id","point_id","time")
);
--> statement-breakpoint
CREATE TABLE "file_chunks" (
	"file_id" bigint NOT NULL,
	"seq" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "file_chunks_file_id_seq_pk" PRIMARY KEY("file_id","seq")
);
--> statement-breakpoint
CREATE TABLE "files" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"device_id" integer NOT NULL,
	"feature_id" integer,
	"uri" text NOT NULL,
	"file_name" text NOT NULL,
	"original_name" text NOT NULL,
	"content_type" text DEFAULT 'application/octet-stream' NOT NULL,
	"size_bytes" bigint NOT NULL,
	"md5" text NOT NULL,
	"store" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "devices" ADD CONSTRAINT "devices_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_features" ADD CONSTRAINT "model_features_model_id_thing_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."thing_models"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_model_id_thing_models_id_fk" FOREIGN KEY ("model_id") REFERENCES "public"."thing_models"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "thing_models" ADD CONSTRAINT "thing_models_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "access_tokens" ADD CONSTRAINT "access_tokens_sa_id_service_accounts_id_fk" FOREIGN KEY ("sa_id") REFERENCES "public"."service_accounts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_accounts" ADD CONSTRAINT "service_accounts_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "file_chunks" ADD CONSTRAINT "file_chunks_file_id_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."files"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "files" ADD CONSTRAINT "files_org_id_organisations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organisations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "devices_asset_id" ON "devices" USING btree ("asset_id");--> statement-breakpoint
CREATE UNIQUE INDEX "devices_product_device_key" ON "devices" USING btree ("product_id","device_key");--> statement-breakpoint
CREATE INDEX "devices_org_created" ON "devices" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "devices_tags" ON "devices" USING gin ("tags");--> statement-breakpoint
CREATE UNIQUE INDEX "model_features_model_kind_identifier" ON "model_features" USING btree ("model_id","kind","identifier");--> statement-breakpoint
CREATE UNIQUE INDEX "products_product_key" ON "products" USING btree ("product_key");--> statement-breakpoint
CREATE INDEX "products_org_model" ON "products" USING btree ("org_id","model_id");--> statement-breakpoint
CREATE UNIQUE INDEX "thing_models_org_identifier" ON "thing_models" USING btree ("org_id","identifier");--> statement-breakpoint
CREATE INDEX "access_tokens_sa" ON "access_tokens" USING btree ("sa_id","expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "service_accounts_access_key" ON "service_accounts" USING btree ("access_key");--> statement-breakpoint
CREATE INDEX "service_accounts_org" ON "service_accounts" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "attribute_history_time" ON "attribute_history" USING btree ("time");--> statement-breakpoint
CREATE INDEX "event_data_time" ON "event_data" USING btree ("time");--> statement-breakpoint
CREATE INDEX "point_data_time" ON "point_data" USING btree ("time");--> statement-breakpoint
CREATE UNIQUE INDEX "files_uri" ON "files" USING btree ("uri");--> statement-breakpoint
CREATE INDEX "files_device_created" ON "files" USING btree ("device_id","created_at");