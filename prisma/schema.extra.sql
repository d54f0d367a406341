-- Database-only objects that schema.prisma cannot express. The first migration creates them;
-- later migrations that add or change one must also update this file: `npm run db:check`
-- builds a database from schema.prisma plus this file and compares it with the migrations.

-- Stock is never negative: the database itself refuses to oversell (spec 004 section 8).
ALTER TABLE "inventory_levels" ADD CONSTRAINT "inventory_levels_quantity_non_negative" CHECK ("quantity" >= 0);
ALTER TABLE "cart_items" ADD CONSTRAINT "cart_items_quantity_positive" CHECK ("quantity" > 0);
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_quantity_positive" CHECK ("quantity" > 0);
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_unit_price_non_negative" CHECK ("unit_price" >= 0);
ALTER TABLE "product_variants" ADD CONSTRAINT "product_variants_price_non_negative" CHECK ("price" >= 0);
ALTER TABLE "orders" ADD CONSTRAINT "orders_total_amount_non_negative" CHECK ("total_amount" >= 0);
ALTER TABLE "payments" ADD CONSTRAINT "payments_amount_positive" CHECK ("amount" > 0);
ALTER TABLE "stock_adjustments" ADD CONSTRAINT "stock_adjustments_delta_non_zero" CHECK ("delta" <> 0);

-- Scheduling (issue 8): weekly limits within a week, availability and preference windows inside one day, shifts
-- that end after they start and need at least one person.
ALTER TABLE "employees" ADD CONSTRAINT "employees_weekly_limit_minutes_range" CHECK ("weekly_limit_minutes" BETWEEN 0 AND 10080);
ALTER TABLE "employee_availability" ADD CONSTRAINT "employee_availability_window_valid" CHECK ("weekday" BETWEEN 1 AND 7 AND "start_minute" >= 0 AND "end_minute" <= 1440 AND "start_minute" < "end_minute");
ALTER TABLE "employee_preferences" ADD CONSTRAINT "employee_preferences_window_valid" CHECK ("weekday" BETWEEN 1 AND 7 AND "start_minute" >= 0 AND "end_minute" <= 1440 AND "start_minute" < "end_minute");
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_ends_after_start" CHECK ("ends_at" > "starts_at");
ALTER TABLE "shifts" ADD CONSTRAINT "shifts_headcount_positive" CHECK ("headcount" > 0);

-- The audit log is append-only (REQ 18.4, PROP 16). A trigger rather than the spec's
-- DO INSTEAD NOTHING rules: tampering must fail loudly, not be silently ignored.
CREATE FUNCTION "audit_logs_reject_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER "audit_logs_append_only" BEFORE UPDATE OR DELETE ON "audit_logs"
  FOR EACH ROW EXECUTE FUNCTION "audit_logs_reject_change"();
CREATE TRIGGER "audit_logs_no_truncate" BEFORE TRUNCATE ON "audit_logs"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_logs_reject_change"();

-- Public catalog reads are served from caches (src/graphql/response-cache.ts and the cached-read
-- lane). Every statement that changes what they show takes the next catalog version and announces
-- it on two channels. catalog_version carries the bare version (caches keyed by it drop every older
-- entry). catalog_change carries the version too, followed by ':' and the variants whose stock
-- changed when only stock changed: such a change drops only the entries that show those variants'
-- stock. A statement that touched no row announces nothing; one that touched more than 100 variants
-- announces a whole-catalog change.
CREATE SEQUENCE "catalog_version_seq";
CREATE FUNCTION "catalog_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  version text := nextval('catalog_version_seq')::text;
BEGIN
  PERFORM pg_notify('catalog_version', version);
  PERFORM pg_notify('catalog_change', version);
  RETURN NULL;
END
$$;
CREATE FUNCTION "catalog_stock_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  variants text[];
  version text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(DISTINCT "variant_id"::text) INTO variants FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT "variant_id"::text) INTO variants FROM old_rows;
  ELSE
    SELECT array_agg(DISTINCT v) INTO variants
      FROM (SELECT "variant_id"::text AS v FROM old_rows UNION SELECT "variant_id"::text FROM new_rows) AS changed;
  END IF;
  IF variants IS NULL THEN
    RETURN NULL;
  END IF;
  version := nextval('catalog_version_seq')::text;
  PERFORM pg_notify('catalog_version', version);
  IF cardinality(variants) <= 100 THEN
    PERFORM pg_notify('catalog_change', version || ':' || array_to_string(variants, ','));
  ELSE
    PERFORM pg_notify('catalog_change', version);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER "products_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "products"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
CREATE TRIGGER "product_variants_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "product_variants"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
CREATE TRIGGER "inventory_levels_stock_inserted" AFTER INSERT ON "inventory_levels"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "catalog_stock_changed"();
CREATE TRIGGER "inventory_levels_stock_updated" AFTER UPDATE ON "inventory_levels"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "catalog_stock_changed"();
CREATE TRIGGER "inventory_levels_stock_deleted" AFTER DELETE ON "inventory_levels"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "catalog_stock_changed"();
CREATE TRIGGER "inventory_levels_catalog_version" AFTER TRUNCATE ON "inventory_levels"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
CREATE TRIGGER "warehouses_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "warehouses"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
