-- The arrays of rollup_pending are written once, read once and deleted: stored out of line
-- without compression (compressing numbers costs CPU on every ingest transaction and saves little).
ALTER TABLE "rollup_pending"
  ALTER COLUMN "device_ids" SET STORAGE EXTERNAL,
  ALTER COLUMN "point_ids" SET STORAGE EXTERNAL,
  ALTER COLUMN "buckets_ms" SET STORAGE EXTERNAL,
  ALTER COLUMN "counts" SET STORAGE EXTERNAL,
  ALTER COLUMN "sums" SET STORAGE EXTERNAL,
  ALTER COLUMN "mins" SET STORAGE EXTERNAL,
  ALTER COLUMN "maxs" SET STORAGE EXTERNAL,
  ALTER COLUMN "first_times_ms" SET STORAGE EXTERNAL,
  ALTER COLUMN "first_values" SET STORAGE EXTERNAL,
  ALTER COLUMN "last_times_ms" SET STORAGE EXTERNAL,
  ALTER COLUMN "last_values" SET STORAGE EXTERNAL;
