export { createIdentityLoaders, type IdentityLoaders } from './identity.loaders.js';
export { PermissionResolver, RoleResolver, UserResolver } from './identity.resolver.js';
export { Permission, Role, User } from './identity.types.js';
