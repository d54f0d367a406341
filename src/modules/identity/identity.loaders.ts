import DataLoader from 'dataloader';
import type { Prisma } from '../../platform/db/index.js';
import { loaderKeys } from '../catalog/index.js';
import { USER_SECRET_COLUMNS } from './identity.types.js';

type UserRow = Awaited<ReturnType<Prisma['user']['findUniqueOrThrow']>>;
type PublicUserRow = Omit<UserRow, keyof typeof USER_SECRET_COLUMNS>;
type RoleRow = Awaited<ReturnType<Prisma['role']['findUniqueOrThrow']>>;
type PermissionRow = Awaited<ReturnType<Prisma['permission']['findUniqueOrThrow']>>;

/** Per-request batch loaders of identity (REQ 6.3): one statement per level, whatever N is. */
export function createIdentityLoaders(prisma: Prisma) {
  return {
    userById: new DataLoader<string, PublicUserRow | null>(async (ids) =>
      loaderKeys.byKey(
        ids,
        await prisma.user.findMany({ where: { id: { in: [...ids] } }, omit: USER_SECRET_COLUMNS }),
        (u) => u.id,
      ),
    ),
    // Through the join table in one query, roles by name.
    rolesByUserId: new DataLoader<string, RoleRow[]>(async (userIds) => {
      const links = await prisma.userRole.findMany({
        where: { userId: { in: [...userIds] } },
        include: { role: true },
        orderBy: [{ role: { name: 'asc' } }, { roleId: 'asc' }],
      });
      return loaderKeys.groupBy(userIds, links, (link) => link.userId).map((list) => list.map((link) => link.role));
    }),
    // Through the join table in one query, permissions by key.
    permissionsByRoleId: new DataLoader<string, PermissionRow[]>(async (roleIds) => {
      const links = await prisma.rolePermission.findMany({
        where: { roleId: { in: [...roleIds] } },
        include: { permission: true },
        orderBy: { permission: { key: 'asc' } },
      });
      return loaderKeys
        .groupBy(roleIds, links, (link) => link.roleId)
        .map((list) => list.map((link) => link.permission));
    }),
  };
}

export type IdentityLoaders = ReturnType<typeof createIdentityLoaders>;
