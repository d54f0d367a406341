/**
 * Every permission the graph checks. Roles grant them; `@auth(anyOf: [...])` on a field names
 * the ones that open it. SELF_SERVICE is the customer-facing permission: it opens a field only
 * for the caller's own customer record, carts and orders (checked in the services).
 */
export const PERMISSIONS = {
  CATALOG_WRITE: 'Create and change products and variants.',
  INVENTORY_READ: 'See stock levels and the stock ledger.',
  INVENTORY_WRITE: 'Adjust stock and manage warehouses.',
  CUSTOMER_READ: 'See every customer.',
  CUSTOMER_WRITE: 'Create and change customers.',
  ORDER_READ: 'See every cart, order and payment.',
  ORDER_WRITE: 'Work carts and move orders through their workflow.',
  PAYMENT_WRITE: 'Record payments and change their status.',
  USER_READ: 'See users, roles and permissions.',
  USER_ADMIN: 'Create users.',
  ROLE_ADMIN: 'Create roles, assign and revoke roles and permissions.',
  AUDIT_READ: 'Read the audit log.',
  SCHEDULING_READ: 'See employees, shifts, schedules and schedule solve jobs.',
  SCHEDULING_WRITE: 'Manage employees and shifts, generate and publish schedules.',
  SELF_SERVICE: "A customer's own record, carts and orders only.",
} as const;

export type PermissionKey = keyof typeof PERMISSIONS;

export const PERMISSION_KEYS = Object.keys(PERMISSIONS) as PermissionKey[];

export function isPermissionKey(value: string): value is PermissionKey {
  return Object.hasOwn(PERMISSIONS, value);
}

/** Built-in roles, created by migration; their permissions can be changed by ROLE_ADMIN. */
export const SYSTEM_ROLES: Record<string, { description: string; permissions: PermissionKey[] }> = {
  ADMIN: { description: 'Everything.', permissions: PERMISSION_KEYS.filter((p) => p !== 'SELF_SERVICE') },
  ORDER_DESK: {
    description: 'Takes and manages orders for customers.',
    permissions: ['ORDER_READ', 'ORDER_WRITE', 'CUSTOMER_READ', 'CUSTOMER_WRITE', 'PAYMENT_WRITE', 'INVENTORY_READ'],
  },
  WAREHOUSE: {
    description: 'Runs stock and fulfilment.',
    permissions: ['INVENTORY_READ', 'INVENTORY_WRITE', 'ORDER_READ', 'SCHEDULING_READ', 'SCHEDULING_WRITE'],
  },
  CATALOG_MANAGER: { description: 'Maintains the catalog.', permissions: ['CATALOG_WRITE', 'INVENTORY_READ'] },
  AUDITOR: { description: 'Reviews security events.', permissions: ['AUDIT_READ', 'USER_READ'] },
  CUSTOMER: { description: 'A customer using the shop or the mobile app.', permissions: ['SELF_SERVICE'] },
};
