import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, ERROR_CATALOG, ErrorCode, isErrorCode, toAppError } from '../../src/errors/index.js';
import { classifyDatabaseError, createDatabase, type Database } from '../../src/platform/db/index.js';
import { captureLogger, workerDatabaseUrl } from '../helpers/kit.js';

const RUNS = { numRuns: 100 };
const classify = (error: unknown) => toAppError(error, [classifyDatabaseError]);
const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

describe('PROP 5 domain error type consistency', () => {
  it('every thrown value maps to exactly one catalog code with its HTTP status and a user-safe message', () => {
    const thrown = fc.oneof(
      fc.anything(),
      fc.string().map((m) => new Error(m)),
      fc.constantFrom(...(Object.keys(ERROR_CATALOG) as ErrorCode[])).map((code) => new AppError(code)),
      fc.record({
        name: fc.constantFrom('PrismaClientKnownRequestError', 'DatabaseError', 'error'),
        code: fc.string(),
        message: fc.string(),
      }),
    );
    fc.assert(
      fc.property(thrown, (value) => {
        const appError = classify(value);
        expect(appError).toBeInstanceOf(AppError);
        expect(isErrorCode(appError.code)).toBe(true);
        expect(appError.httpStatus).toBe(ERROR_CATALOG[appError.code].httpStatus);
        if (value instanceof AppError) expect(appError).toBe(value);
        // Unknown failures are masked: their text never becomes the client message.
        if (appError.code === ErrorCode.INTERNAL_ERROR)
          expect(appError.message).toBe(ERROR_CATALOG.INTERNAL_ERROR.message);
      }),
      RUNS,
    );
  });

  it('an aborted operation is REQUEST_CANCELLED, not an internal error', () => {
    const controller = new AbortController();
    controller.abort();
    expect(classify(controller.signal.reason).code).toBe(ErrorCode.REQUEST_CANCELLED);
  });
});

describe('PROP 6 database error classification (real Postgres)', () => {
  let database: Database;
  let warehouseId: string;
  let variantId: string;

  beforeAll(async () => {
    database = createDatabase({ url: await workerDatabaseUrl(), logger: captureLogger('error').logger, poolSize: 3 });
    const warehouse = await database.prisma.warehouse.create({ data: { code: `E-${uniq()}`, name: 'errors' } });
    const product = await database.prisma.product.create({
      data: {
        sku: `E-${uniq()}`,
        name: 'errors',
        variants: { create: { sku: `E-${uniq()}`, name: 'v', price: '1.00' } },
      },
      include: { variants: true },
    });
    warehouseId = warehouse.id;
    variantId = product.variants[0]!.id;
  });
  afterAll(() => database.close());

  type Failure =
    'unique-email' | 'unique-sku' | 'foreign-key' | 'check' | 'not-found' | 'deadlock' | 'serialization' | 'timeout';
  const failures: Failure[] = [
    'unique-email',
    'unique-sku',
    'foreign-key',
    'check',
    'not-found',
    'deadlock',
    'serialization',
    'timeout',
  ];

  async function provoke(failure: Failure, seed: string): Promise<unknown> {
    const p = database.prisma;
    try {
      switch (failure) {
        case 'unique-email': {
          const email = `Dup.${seed}@Example.com`;
          await p.customer.create({ data: { email, name: 'a' } });
          // citext: the same address in other letter cases is the same address.
          await p.customer.create({ data: { email: email.toLowerCase(), name: 'b' } });
          break;
        }
        case 'unique-sku':
          await p.product.create({ data: { sku: `S-${seed}`, name: 'a' } });
          await p.product.create({ data: { sku: `S-${seed}`, name: 'b' } });
          break;
        case 'foreign-key':
          await p.cart.create({ data: { customerId: '00000000-0000-4000-8000-000000000000' } });
          break;
        case 'check':
          await p.inventoryLevel.upsert({
            where: { variantId_warehouseId: { variantId, warehouseId } },
            create: { variantId, warehouseId, quantity: -1 },
            update: { quantity: -1 },
          });
          break;
        case 'not-found':
          await p.customer.update({ where: { id: '00000000-0000-4000-8000-000000000000' }, data: { name: 'x' } });
          break;
        case 'deadlock':
          await p.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$`);
          break;
        case 'serialization':
          await p.$executeRawUnsafe(`DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$`);
          break;
        case 'timeout':
          await p.$transaction(async (tx) => {
            await tx.$executeRawUnsafe(`SET LOCAL statement_timeout = '10ms'`);
            await tx.$executeRawUnsafe(`SELECT pg_sleep(1)`);
          });
          break;
      }
    } catch (error) {
      return error;
    }
    throw new Error(`${failure} did not fail`);
  }

  const expected: Record<Failure, { code: ErrorCode; detail?: Record<string, unknown> }> = {
    'unique-email': { code: ErrorCode.CONFLICT, detail: { field: 'email' } },
    'unique-sku': { code: ErrorCode.CONFLICT, detail: { field: 'sku' } },
    'foreign-key': {
      code: ErrorCode.VALIDATION_ERROR,
      detail: { fields: { customer: ['refers to a record that does not exist'] } },
    },
    check: {
      code: ErrorCode.VALIDATION_ERROR,
      detail: { fields: { inventory_levels_quantity_non_negative: ['violates a data rule'] } },
    },
    'not-found': { code: ErrorCode.NOT_FOUND, detail: { resource: 'Customer' } },
    deadlock: { code: ErrorCode.SERVICE_UNAVAILABLE },
    serialization: { code: ErrorCode.SERVICE_UNAVAILABLE },
    timeout: { code: ErrorCode.SERVICE_UNAVAILABLE },
  };

  it('every real database failure is classified as not found, conflict, validation or unavailable, naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...failures), fc.uuid(), async (failure, seed) => {
        const error = await provoke(failure, seed.slice(0, 8) + uniq());
        const appError = classify(error);
        expect(appError.code).toBe(expected[failure].code);
        if (expected[failure].detail) expect(appError.details).toMatchObject(expected[failure].detail!);
        // The cause chain keeps the original for the logs; the message never carries SQL.
        expect(appError.cause).toBe(error);
        expect(appError.message).not.toMatch(/INSERT|UPDATE|SELECT|prisma|constraint "/i);
      }),
      RUNS,
    );
  });

  it('an unreachable database is SERVICE_UNAVAILABLE', async () => {
    const down = createDatabase({
      url: 'postgres://postgres@127.0.0.1:1/none',
      logger: captureLogger('error').logger,
      connectTimeoutMs: 500,
    });
    try {
      const error = await down.prisma.customer.findFirst().catch((e: unknown) => e);
      expect(classify(error).code).toBe(ErrorCode.SERVICE_UNAVAILABLE);
    } finally {
      await down.close();
    }
  });
});
