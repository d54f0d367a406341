import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, UUIDResolver } from 'graphql-scalars';

/** ISO-8601 timestamps with offset (RFC 3339). */
export const DateTimeScalar = DateTimeResolver;
/**
 * Every id in the graph; malformed ids are rejected at coercion, before any resolver runs. Input ids
 * are lower-cased (and lose `{}`), as Postgres writes them back: an id in upper case (Swift's
 * `UUID().uuidString`) finds the same record through a loader's key as through SQL.
 */
export const UUIDScalar = new GraphQLScalarType({
  ...UUIDResolver.toConfig(),
  parseValue: (value) => (UUIDResolver.parseValue(value) as string).toLowerCase(),
  parseLiteral: (ast, variables) => (UUIDResolver.parseLiteral(ast, variables) as string).toLowerCase(),
});
/** Free-form attributes of a variant (colour, size…). */
export const JSONObjectScalar = JSONObjectResolver;

/** Largest amount the database columns (DECIMAL(14,2)) hold. */
const MAX_MONEY = 999_999_999_999.99;
const MONEY_PATTERN = /^\d{1,12}(\.\d{1,2})?$/;

function parseMoney(value: unknown): string {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !MONEY_PATTERN.test(text) || Number(text) > MAX_MONEY) {
    throw new GraphQLError('Money must be a non-negative decimal with at most 2 decimal places, e.g. "19.99".', {
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return Number(text).toFixed(2);
}

/**
 * Money as an exact decimal string ("19.99"), never a float: serialised from Prisma's Decimal,
 * accepted as a string (or a number with at most two decimals) and passed on as a string.
 */
export const MoneyScalar = new GraphQLScalarType<string, string>({
  name: 'Money',
  description: 'A non-negative amount with exactly two decimal places, as a string ("19.99"). Never a float.',
  serialize(value) {
    if (value !== null && typeof value === 'object' && 'toFixed' in value) {
      return (value as { toFixed(digits: number): string }).toFixed(2);
    }
    return parseMoney(value);
  },
  parseValue: parseMoney,
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING || ast.kind === Kind.FLOAT || ast.kind === Kind.INT) {
      try {
        return parseMoney(ast.value);
      } catch (error) {
        throw new GraphQLError((error as Error).message, { nodes: ast, extensions: { code: 'BAD_USER_INPUT' } });
      }
    }
    throw new GraphQLError('Money must be given as a string such as "19.99".', {
      nodes: ast,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  },
});
