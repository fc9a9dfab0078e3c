-- The outbox of the NATS JetStream stream backend: rows written by ingest transactions, relayed to JetStream and then deleted.
CREATE TABLE "live_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"channel" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload" jsonb NOT NULL
);
