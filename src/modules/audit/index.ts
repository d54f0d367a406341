export { AuditLogResolver } from './audit.resolver.js';
export { AuditLog } from './audit.types.js';
