-- Reference data: the permission catalog and the built-in roles (src/modules/identity/permissions.ts).
-- Idempotent, so environments that created some of them by hand keep theirs.
INSERT INTO "permissions" ("id", "key", "description") VALUES
  (gen_random_uuid(), 'CATALOG_WRITE', 'Create and change products and variants.'),
  (gen_random_uuid(), 'INVENTORY_READ', 'See stock levels and the stock ledger.'),
  (gen_random_uuid(), 'INVENTORY_WRITE', 'Adjust stock and manage warehouses.'),
  (gen_random_uuid(), 'CUSTOMER_READ', 'See every customer.'),
  (gen_random_uuid(), 'CUSTOMER_WRITE', 'Create and change customers.'),
  (gen_random_uuid(), 'ORDER_READ', 'See every cart, order and payment.'),
  (gen_random_uuid(), 'ORDER_WRITE', 'Work carts and move orders through their workflow.'),
  (gen_random_uuid(), 'PAYMENT_WRITE', 'Record payments and change their status.'),
  (gen_random_uuid(), 'USER_READ', 'See users, roles and permissions.'),
  (gen_random_uuid(), 'USER_ADMIN', 'Create users.'),
  (gen_random_uuid(), 'ROLE_ADMIN', 'Create roles, assign and revoke roles and permissions.'),
  (gen_random_uuid(), 'AUDIT_READ', 'Read the audit log.'),
  (gen_random_uuid(), 'SELF_SERVICE', 'A customer''s own record, carts and orders only.')
ON CONFLICT ("key") DO NOTHING;

INSERT INTO "roles" ("id", "name", "description", "is_system", "updated_at") VALUES
  (gen_random_uuid(), 'ADMIN', 'Everything.', true, now()),
  (gen_random_uuid(), 'ORDER_DESK', 'Takes and manages orders for customers.', true, now()),
  (gen_random_uuid(), 'WAREHOUSE', 'Runs stock and fulfilment.', true, now()),
  (gen_random_uuid(), 'CATALOG_MANAGER', 'Maintains the catalog.', true, now()),
  (gen_random_uuid(), 'AUDITOR', 'Reviews security events.', true, now()),
  (gen_random_uuid(), 'CUSTOMER', 'A customer using the shop or the mobile app.', true, now())
ON CONFLICT ("name") DO NOTHING;

INSERT INTO "role_permissions" ("role_id", "permission_id")
SELECT r."id", p."id" FROM (VALUES
  ('ADMIN', 'CATALOG_WRITE'),
  ('ADMIN', 'INVENTORY_READ'),
  ('ADMIN', 'INVENTORY_WRITE'),
  ('ADMIN', 'CUSTOMER_READ'),
  ('ADMIN', 'CUSTOMER_WRITE'),
  ('ADMIN', 'ORDER_READ'),
  ('ADMIN', 'ORDER_WRITE'),
  ('ADMIN', 'PAYMENT_WRITE'),
  ('ADMIN', 'USER_READ'),
  ('ADMIN', 'USER_ADMIN'),
  ('ADMIN', 'ROLE_ADMIN'),
  ('ADMIN', 'AUDIT_READ'),
  ('ORDER_DESK', 'ORDER_READ'),
  ('ORDER_DESK', 'ORDER_WRITE'),
  ('ORDER_DESK', 'CUSTOMER_READ'),
  ('ORDER_DESK', 'CUSTOMER_WRITE'),
  ('ORDER_DESK', 'PAYMENT_WRITE'),
  ('ORDER_DESK', 'INVENTORY_READ'),
  ('WAREHOUSE', 'INVENTORY_READ'),
  ('WAREHOUSE', 'INVENTORY_WRITE'),
  ('WAREHOUSE', 'ORDER_READ'),
  ('CATALOG_MANAGER', 'CATALOG_WRITE'),
  ('CATALOG_MANAGER', 'INVENTORY_READ'),
  ('AUDITOR', 'AUDIT_READ'),
  ('AUDITOR', 'USER_READ'),
  ('CUSTOMER', 'SELF_SERVICE')
) AS grants(role_name, permission_key)
JOIN "roles" r ON r."name" = grants.role_name
JOIN "permissions" p ON p."key" = grants.permission_key
ON CONFLICT DO NOTHING;

