-- Catalog version for the response cache: a sequence and statement triggers (see schema.extra.sql).
-- Public catalog reads are served from a response cache (src/graphql/response-cache.ts). Every
-- statement that changes what they show takes the next catalog version and announces it on the
-- catalog_version channel; the gateways put the newest version in their cache keys, so entries
-- of an older catalog are never read again.
CREATE SEQUENCE "catalog_version_seq";
CREATE FUNCTION "catalog_version_bump"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('catalog_version', nextval('catalog_version_seq')::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER "products_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "products"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
CREATE TRIGGER "product_variants_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "product_variants"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
CREATE TRIGGER "inventory_levels_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "inventory_levels"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
CREATE TRIGGER "warehouses_catalog_version" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "warehouses"
  FOR EACH STATEMENT EXECUTE FUNCTION "catalog_version_bump"();
