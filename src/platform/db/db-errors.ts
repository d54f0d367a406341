import {
  type AppError,
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
  type ErrorClassifier,
} from '../../errors/index.js';

/** What a database failure is, independent of whether it came through Prisma or pg. */
export interface DbFailure {
  /** SQLSTATE when the server answered (e.g. 23505), else undefined. */
  sqlState?: string;
  /** Prisma's error code (P2002…), when it came through Prisma. */
  prismaCode?: string;
  /** Driver-adapter error kind (UniqueConstraintViolation, DatabaseNotReachable…). */
  kind?: string;
  /** Node's socket error code (ECONNREFUSED…). */
  errno?: string;
  constraint?: string;
  modelName?: string;
  message: string;
}

interface AdapterCause {
  originalCode?: string;
  code?: string;
  kind?: string;
  originalMessage?: string;
  message?: string;
  constraint?: { index?: string; fields?: string[] } | string;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

/** Reads the facts out of a Prisma known-request error, a driver-adapter error or a pg error. */
export function describeDbFailure(error: unknown): DbFailure | undefined {
  const e = asRecord(error);
  if (!e) return undefined;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (name.startsWith('PrismaClient')) {
    const meta = asRecord(e.meta);
    const adapterError = asRecord(meta?.driverAdapterError);
    const cause = asRecord(adapterError?.cause) as AdapterCause | undefined;
    const constraint = cause?.constraint;
    return {
      prismaCode: typeof e.code === 'string' ? e.code : undefined,
      sqlState: cause?.originalCode ?? cause?.code,
      kind: cause?.kind,
      constraint: typeof constraint === 'string' ? constraint : (constraint?.index ?? constraint?.fields?.join('_')),
      modelName: typeof meta?.modelName === 'string' ? meta.modelName : undefined,
      message: cause?.originalMessage ?? cause?.message ?? message,
    };
  }
  if (name === 'DriverAdapterError')
    return describeDbFailure({ name: 'PrismaClientDriverAdapter', meta: { driverAdapterError: e } });
  // node-postgres DatabaseError: SQLSTATE in `code`; socket errors carry errno-style codes.
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (name === 'error' || name === 'DatabaseError' || (code && /^[0-9A-Z]{5}$/.test(code))) {
    return { sqlState: code, constraint: typeof e.constraint === 'string' ? e.constraint : undefined, message };
  }
  if (code && /^E[A-Z]+$/.test(code)) return { errno: code, message };
  if (/timeout exceeded when trying to connect|Connection terminated/i.test(message))
    return { kind: 'ConnectionTimeout', message };
  return undefined;
}

const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']);

/** Deadlock (40P01), serialization failure (40001) and Prisma's write conflict (P2034): retry them (REQ 4.3). */
export function isRetryableTransactionError(error: unknown): boolean {
  const failure = describeDbFailure(error);
  if (!failure) return false;
  return (
    (failure.sqlState !== undefined && RETRYABLE_SQLSTATES.has(failure.sqlState)) ||
    failure.prismaCode === 'P2034' ||
    failure.kind === 'TransactionWriteConflict'
  );
}

const UNAVAILABLE_PRISMA = new Set(['P1001', 'P1002', 'P1008', 'P1011', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'ConnectionTimeout',
  'TransactionAlreadyClosed',
]);

function isUnavailable(f: DbFailure): boolean {
  return (
    (f.prismaCode !== undefined && UNAVAILABLE_PRISMA.has(f.prismaCode)) ||
    (f.kind !== undefined && UNAVAILABLE_KINDS.has(f.kind)) ||
    f.errno !== undefined ||
    // 08 connection exception, 53 insufficient resources, 57P0x shutdown, 57014 statement timeout
    (f.sqlState !== undefined && (/^(08|53)/.test(f.sqlState) || /^57P0/.test(f.sqlState) || f.sqlState === '57014'))
  );
}

function camelCase(snake: string): string {
  return snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function snakeCase(pascal: string): string {
  return pascal.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/**
 * The columns a constraint covers, by Prisma's naming convention `<table>_<columns>_key|fkey`.
 * The table prefix is recognised from the model name (tables are the snake_case model name,
 * plural or not).
 */
export function constraintColumns(constraint: string | undefined, modelName: string | undefined): string | undefined {
  if (!constraint) return undefined;
  let rest = constraint.replace(/_(key|fkey|pkey|idx)$/, '');
  if (modelName) {
    const table = snakeCase(modelName);
    for (const prefix of [`${table}s_`, `${table}es_`, `${table}_`]) {
      if (rest.startsWith(prefix)) {
        rest = rest.slice(prefix.length);
        break;
      }
    }
  }
  return camelCase(rest);
}

/**
 * Maps a database failure onto the catalog (REQ 3.4, PROP 6): not found, conflict (naming the
 * field), validation (naming the relation or constraint), service unavailable (retryable);
 * anything else is left to become INTERNAL_ERROR.
 */
export const classifyDatabaseError: ErrorClassifier = (error): AppError | undefined => {
  const f = describeDbFailure(error);
  if (!f) return undefined;
  const model = f.modelName ?? 'Record';
  if (f.prismaCode === 'P2025' || f.prismaCode === 'P2001' || f.prismaCode === 'P2018') {
    return new NotFoundError(model, undefined, error);
  }
  if (f.prismaCode === 'P2002' || f.sqlState === '23505' || f.kind === 'UniqueConstraintViolation') {
    const field = constraintColumns(f.constraint, f.modelName) ?? 'value';
    return new ConflictError(
      field,
      `A ${snakeCase(model).replace(/_/g, ' ')} with this ${field} already exists.`,
      error,
    );
  }
  if (f.prismaCode === 'P2003' || f.sqlState === '23503' || f.kind === 'ForeignKeyConstraintViolation') {
    const relation = (constraintColumns(f.constraint, f.modelName) ?? 'relation').replace(/Id$/, '');
    const stillReferenced = /update or delete on table/i.test(f.message);
    return new ValidationError(
      {
        [relation]: [
          stillReferenced ? 'is still referenced by other records' : 'refers to a record that does not exist',
        ],
      },
      stillReferenced
        ? `The ${snakeCase(model).replace(/_/g, ' ')} is still referenced by other records.`
        : `The ${relation} does not exist.`,
      error,
    );
  }
  if (f.sqlState === '23514') {
    const constraint = f.constraint ?? /check constraint "([^"]+)"/.exec(f.message)?.[1] ?? 'check';
    return new ValidationError({ [constraint]: ['violates a data rule'] }, 'The change violates a data rule.', error);
  }
  if (f.sqlState === '23502' || f.prismaCode === 'P2011') {
    return new ValidationError({ [f.constraint ?? 'value']: ['is required'] }, 'A required value is missing.', error);
  }
  if (f.sqlState === '22001' || f.prismaCode === 'P2000') {
    return new ValidationError({ value: ['is too long'] }, 'A value is too long.', error);
  }
  if (f.sqlState === '22P02' || f.prismaCode === 'P2023' || f.prismaCode === 'P2007') {
    return new ValidationError({ value: ['has an invalid format'] }, 'A value has an invalid format.', error);
  }
  if (isRetryableTransactionError(error)) return new ServiceUnavailableError('database', error);
  if (isUnavailable(f)) return new ServiceUnavailableError('database', error);
  return undefined;
};
