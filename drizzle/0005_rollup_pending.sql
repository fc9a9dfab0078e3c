CREATE TABLE "rollup_pending" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"level" text NOT NULL,
	"device_ids" integer[] NOT NULL,
	"point_ids" integer[] NOT NULL,
	"buckets_ms" bigint[] NOT NULL,
	"counts" integer[] NOT NULL,
	"sums" double precision[] NOT NULL,
	"mins" double precision[] NOT NULL,
	"maxs" double precision[] NOT NULL,
	"first_times_ms" bigint[] NOT NULL,
	"first_values" double precision[] NOT NULL,
	"last_times_ms" bigint[] NOT NULL,
	"last_values" double precision[] NOT NULL
);
