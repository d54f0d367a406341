-- Stock changes name their variants (see schema.extra.sql): a checkout drops the cached reads that
-- show the stock it changed, not the whole catalog. Every change is also announced, as before, on
-- catalog_version, which instances still running the previous release listen to.
CREATE OR REPLACE FUNCTION "catalog_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TRIGGER "inventory_levels_catalog_version" ON "inventory_levels";
CREATE TRIGGER "inventory_levels_stock_inserted" AFTER INSERT ON "inventory_levels"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "catalog_stock_changed"();
CREATE TRIGGER "inventory_levels_stock_updated" AFTER UPDATE ON "inventory_levels"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "catalog_stock_changed"();
CREATE TRIGGER "inventory_levels_stock_deleted" AFTER DELETE ON "inventory_levels"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "catalog_stock_changed"();
CREATE TRIGGER "inventory_levels_catalog_version" AFTER TRUNCATE ON "inventory_levels"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
