-- point_data is the table that grows with every point: a row keeps only what reads need.
-- ingested_at was never read; point_data_time served no read (every read, the upsert and the
-- rollup rebuilds go by the primary key (device_id, point_id, time); retention on TimescaleDB
-- drops whole chunks); offline is NULL for real-time rows (no space in the row, read as false)
-- instead of a padded false. Existing rows keep their false; readers coalesce.
DROP INDEX "point_data_time";--> statement-breakpoint
ALTER TABLE "point_data" ALTER COLUMN "offline" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "point_data" ALTER COLUMN "offline" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "point_data" DROP COLUMN "ingested_at";