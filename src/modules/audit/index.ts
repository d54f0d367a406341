export { AuditLogResolver } from './audit.resolver.js';
export { AuditLog } from './audit.types.js';
export { canonicalJson, computeAuditHash, GENESIS_HASH, parseJsonText, type AuditChainFields } from './audit.hash.js';
export {
  createAuditWriter,
  type AuditEvent,
  type AuditRecorded,
  type AuditWriter,
  type AuditWriterOptions,
} from './audit.writer.js';
export {
  verifyAuditChain,
  type AuditChainProblem,
  type AuditChainReport,
  type AuditChainSource,
  type VerifyAuditChainOptions,
} from './audit.verify.js';
