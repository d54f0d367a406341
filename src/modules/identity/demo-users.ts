import type { Logger } from '../../observability/logger.js';
import type { Prisma } from '../../platform/db/index.js';
import type { PasswordHasher } from './passwords.js';

/** Development only (SEED_DEMO_DATA): the password of every demo account, documented in the README. */
export const DEMO_PASSWORD = 'Demo-Gateway-Password-2026';

const DEMO_USERS = [
  { email: 'admin@example.com', displayName: 'Ada Admin', role: 'ADMIN' },
  { email: 'desk@example.com', displayName: 'Dan Desk', role: 'ORDER_DESK' },
  { email: 'warehouse@example.com', displayName: 'Wanda Warehouse', role: 'WAREHOUSE' },
  { email: 'catalog@example.com', displayName: 'Carl Catalog', role: 'CATALOG_MANAGER' },
  { email: 'auditor@example.com', displayName: 'Aude Auditor', role: 'AUDITOR' },
  // A customer-facing account: sees only the orders of customer1@example.com.
  {
    email: 'customer1@example.com',
    displayName: 'Customer One',
    role: 'CUSTOMER',
    customerEmail: 'customer1@example.com',
  },
] as const;

/** Creates the demo accounts when the database has no users yet. */
export async function seedDemoUsers(prisma: Prisma, passwords: PasswordHasher, logger: Logger): Promise<number> {
  if ((await prisma.user.count()) > 0) return 0;
  const passwordHash = await passwords.hash(DEMO_PASSWORD);
  for (const demo of DEMO_USERS) {
    const role = await prisma.role.findUnique({ where: { name: demo.role } });
    const customer =
      'customerEmail' in demo
        ? await prisma.customer.findUnique({ where: { email: demo.customerEmail }, select: { id: true } })
        : null;
    await prisma.user.create({
      data: {
        email: demo.email,
        displayName: demo.displayName,
        passwordHash,
        customerId: customer?.id ?? null,
        roles: role ? { create: { roleId: role.id } } : undefined,
      },
    });
  }
  logger.info('demo users created (development only)', { users: DEMO_USERS.map((u) => `${u.email} (${u.role})`) });
  return DEMO_USERS.length;
}
