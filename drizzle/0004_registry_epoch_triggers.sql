-- organisations.registry_epoch moves whenever what names a device, or fixes its model, changes
-- (see src/storage/schema/registry.ts). Creating a row changes nothing already named, and the
-- columns ingest updates (devices' status and last-update times) are not watched.
CREATE FUNCTION "bump_registry_epoch"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "organisations" SET "registry_epoch" = "registry_epoch" + 1 WHERE "id" = OLD."org_id";
  IF TG_OP = 'UPDATE' AND NEW."org_id" IS DISTINCT FROM OLD."org_id" THEN
    UPDATE "organisations" SET "registry_epoch" = "registry_epoch" + 1 WHERE "id" = NEW."org_id";
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "devices_registry_epoch_update" AFTER UPDATE ON "devices" FOR EACH ROW
  WHEN (OLD."org_id" IS DISTINCT FROM NEW."org_id" OR OLD."asset_id" IS DISTINCT FROM NEW."asset_id" OR OLD."device_key" IS DISTINCT FROM NEW."device_key" OR OLD."product_id" IS DISTINCT FROM NEW."product_id")
  EXECUTE FUNCTION "bump_registry_epoch"();
--> statement-breakpoint
CREATE TRIGGER "devices_registry_epoch_delete" AFTER DELETE ON "devices" FOR EACH ROW EXECUTE FUNCTION "bump_registry_epoch"();
--> statement-breakpoint
CREATE TRIGGER "products_registry_epoch_update" AFTER UPDATE ON "products" FOR EACH ROW
  WHEN (OLD."org_id" IS DISTINCT FROM NEW."org_id" OR OLD."product_key" IS DISTINCT FROM NEW."product_key" OR OLD."model_id" IS DISTINCT FROM NEW."model_id")
  EXECUTE FUNCTION "bump_registry_epoch"();
--> statement-breakpoint
CREATE TRIGGER "products_registry_epoch_delete" AFTER DELETE ON "products" FOR EACH ROW EXECUTE FUNCTION "bump_registry_epoch"();
--> statement-breakpoint
CREATE TRIGGER "thing_models_registry_epoch_update" AFTER UPDATE ON "thing_models" FOR EACH ROW
  WHEN (OLD."org_id" IS DISTINCT FROM NEW."org_id" OR OLD."version" IS DISTINCT FROM NEW."version")
  EXECUTE FUNCTION "bump_registry_epoch"();
--> statement-breakpoint
CREATE TRIGGER "thing_models_registry_epoch_delete" AFTER DELETE ON "thing_models" FOR EACH ROW EXECUTE FUNCTION "bump_registry_epoch"();
