import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestUser, gql, startTestApp, strongSecret, uniqueTag, type TestApp } from '../helpers/kit.js';

// Compiled reads (ADR 0008) answer a query with one statement built from the fields' projections.
// The executed path (every resolver and loader, COMPILED_READS_ENABLED=false) is the oracle: for
// any selection over the projected types (with aliases, repeated fields, fragments, @skip and
// @include, fields without a projection, @sensitive fields, invalid arguments) and any caller,
// both answer with the same status and the same body, byte for byte.

const RUNS = { numRuns: 150 };

/** Scalar fields of each type, projected or not (Customer.email is @sensitive). */
const SCALARS: Record<string, string[]> = {
  Customer: ['id', 'name', 'createdAt', 'updatedAt', 'email', '__typename'],
  Order: ['id', 'number', 'cartId', 'status', 'currency', 'totalAmount', 'createdAt', 'updatedAt', '__typename'],
  OrderItem: ['id', 'quantity', 'unitPrice', 'lineTotal'],
  Payment: ['id', 'amount', 'currency', 'method', 'status', 'reference', 'createdAt', 'updatedAt'],
  ProductVariant: ['id', 'sku', 'name', 'price', 'currency', 'attributes', 'isActive', 'createdAt'],
  Product: ['id', 'sku', 'name', 'description', 'status', 'createdAt', 'updatedAt', '__typename'],
  Warehouse: ['id', 'code', 'name', 'createdAt'],
  StockLevel: ['id', 'quantity', 'updatedAt'],
  StatusTransition: ['toStatus'],
  ProductPage: ['__typename'],
  PageInfo: ['page', 'limit', 'totalCount', 'hasNextPage'],
};
/** Object fields: [field, its type, arguments]. `transitions` and `OrderItem.warehouse` have no projection. */
const OBJECTS: Record<string, [string, string, string[]][]> = {
  Customer: [['orders', 'Order', ['', '(limit: $limit)', '(limit: 2)', '(limit: $maybeLimit)']]],
  Order: [
    ['customer', 'Customer', ['']],
    ['items', 'OrderItem', ['']],
    ['payments', 'Payment', ['']],
    ['transitions', 'StatusTransition', ['']],
  ],
  OrderItem: [
    ['variant', 'ProductVariant', ['']],
    ['warehouse', 'Warehouse', ['']],
  ],
  Payment: [['order', 'Order', ['']]],
  ProductVariant: [
    ['product', 'Product', ['']],
    ['stockLevels', 'StockLevel', ['']],
  ],
  Product: [['variants', 'ProductVariant', ['']]],
  StockLevel: [
    ['variant', 'ProductVariant', ['']],
    ['warehouse', 'Warehouse', ['']],
  ],
  ProductPage: [
    ['items', 'Product', ['']],
    ['pageInfo', 'PageInfo', ['']],
  ],
};
const DIRECTIVES = ['', '', '', ' @include(if: $yes)', ' @include(if: $no)', ' @skip(if: $yes)', ' @skip(if: $no)'];

/** Fields that have no projection or run in their resolver only: rarer, so that most queries compile. */
const EXECUTED_ONLY = new Set(['email', 'transitions', 'OrderItem.warehouse']);

/** A field of `type` as query text: maybe aliased, maybe under a directive, with a sub-selection below objects. */
function field(type: string, depth: number): fc.Arbitrary<string> {
  const scalar = (names: string[]) =>
    fc
      .tuple(fc.constantFrom(...names), fc.boolean(), fc.constantFrom(...DIRECTIVES))
      .map(([name, aliased, directive]) => `${aliased ? `${name}Alias: ` : ''}${name}${directive}`);
  const object = (fields: [string, string, string[]][]) =>
    fc.constantFrom(...fields).chain(([name, child, args]) =>
      fc
        .tuple(fc.constantFrom(...args), fc.boolean(), fc.constantFrom(...DIRECTIVES), selection(child, depth - 1))
        // Each argument form under its own response name: the same name with other arguments does not validate.
        .map(([arg, aliased, directive, sub]) => {
          const form = args.indexOf(arg);
          const alias = form > 0 ? `${name}${form}: ` : aliased ? `${name}Alias: ` : '';
          return `${alias}${name}${arg}${directive} ${sub}`;
        }),
    );
  const executedOnly = (name: string) => EXECUTED_ONLY.has(name) || EXECUTED_ONLY.has(`${type}.${name}`);
  const scalars = SCALARS[type]!;
  const objects = depth > 0 ? (OBJECTS[type] ?? []) : [];
  const choices = [
    { weight: 8, names: scalars.filter((n) => !executedOnly(n)), arbitrary: scalar },
    { weight: 1, names: scalars.filter((n) => executedOnly(n)), arbitrary: scalar },
  ].flatMap(({ weight, names, arbitrary }) => (names.length > 0 ? [{ weight, arbitrary: arbitrary(names) }] : []));
  for (const [weight, fields] of [
    [5, objects.filter(([n]) => !executedOnly(n))],
    [1, objects.filter(([n]) => executedOnly(n))],
  ] as const) {
    if (fields.length > 0) choices.push({ weight, arbitrary: object([...fields]) });
  }
  return fc.oneof(...choices);
}

/** `{ … }` of `type`: one to five fields (repeats merge), some inside inline fragments. */
function selection(type: string, depth: number): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(field(type, depth), { minLength: 1, maxLength: 5 }),
      fc.array(field(type, depth), { maxLength: 2 }),
      fc.constantFrom('', `on ${type} `, '@include(if: $yes) ', '@skip(if: $yes) '),
    )
    .map(([plain, fragment, condition]) => {
      const inner = fragment.length > 0 ? ` ... ${condition}{ ${fragment.join(' ')} }` : '';
      return `{ ${plain.join(' ')}${inner} }`;
    });
}

interface Case {
  query: string;
  variables: Record<string, unknown>;
  caller: 'admin' | 'owner' | 'other customer' | 'anonymous';
}

describe('compiled reads', () => {
  let compiled: TestApp;
  let executed: TestApp;
  const customers: string[] = [];
  const variantIds: string[] = [];
  let tag = '';
  const callers: Record<Case['caller'], Record<string, string>> = {
    admin: {},
    owner: {},
    'other customer': {},
    anonymous: { authorization: '' },
  };
  let compiledStatements = 0;

  beforeAll(async () => {
    // The same secrets: a token signed by one app is good at the other, as between instances.
    // Limits out of the way: the generated queries are large, and a refusal compiles nothing.
    const env = {
      JWT_SECRETS: strongSecret(),
      PASSWORD_PEPPER: strongSecret(),
      GRAPHQL_MAX_DEPTH: '20',
      GRAPHQL_MAX_ALIASES: '1000',
      GRAPHQL_MAX_DIRECTIVES: '1000',
      GRAPHQL_MAX_TOKENS: '20000',
      GRAPHQL_MAX_COST: '1000000',
      // Every query reaches the path under test, not the response cache.
      RESPONSE_CACHE_ENABLED: 'false',
    };
    compiled = await startTestApp(env);
    executed = await startTestApp({ ...env, COMPILED_READS_ENABLED: 'false' });
    const { prisma } = compiled.database;
    tag = `cr${uniqueTag()}`;
    const warehouse = await prisma.warehouse.create({ data: { code: `CR-${tag}`, name: `Compiled ${tag}` } });
    const variants = [];
    for (let p = 0; p < 3; p += 1) {
      const product = await prisma.product.create({
        data: {
          sku: `CR-${tag}-${p}`,
          name: `Compiled "read" ${p} ${tag}`,
          description: p === 1 ? 'Line\nbreak, "quotes" and ünïcödé' : '',
          status: p === 2 ? 'ARCHIVED' : 'ACTIVE',
          variants: {
            create: [
              {
                sku: `CR-${tag}-${p}-b`,
                name: 'B',
                price: '0.00',
                attributes: { size: p, nested: { a: [1, 'x'] }, $stockOf: 'not a dependency' },
              },
              { sku: `CR-${tag}-${p}-a`, name: 'A', price: '123456789012.34', currency: 'EUR', isActive: false },
            ],
          },
        },
        include: { variants: true },
      });
      variants.push(...product.variants);
      variantIds.push(...product.variants.map((v) => v.id));
    }
    for (const variant of variants) {
      await prisma.inventoryLevel.create({ data: { variantId: variant.id, warehouseId: warehouse.id, quantity: 7 } });
    }
    // Orders sharing creation times (the id breaks ties), with none, one or three lines and payments.
    const at = new Date(Date.UTC(2004, 0, 1) + Math.floor(Math.random() * 1e10));
    for (let c = 0; c < 3; c += 1) {
      const customer = await prisma.customer.create({
        data: { email: `cr-${tag}-${c}@example.com`, name: `Compiled ${c}`, phone: '+1 555 0100' },
      });
      customers.push(customer.id);
      for (let o = 0; o < [4, 0, 1][c]!; o += 1) {
        await prisma.order.create({
          data: {
            customerId: customer.id,
            status: (['PENDING', 'SHIPPED', 'CANCELLED'] as const)[o % 3],
            totalAmount: `${o}.5${o}`,
            createdAt: new Date(at.getTime() + Math.floor(o / 2) * 1000),
            items: {
              create: variants.slice(0, [3, 0, 1, 2][o]!).map((variant, i) => ({
                variantId: variant.id,
                warehouseId: warehouse.id,
                quantity: i + 1,
                unitPrice: '10.10',
                lineTotal: (10.1 * (i + 1)).toFixed(2),
              })),
            },
            payments: {
              create: Array.from({ length: [1, 3, 0, 2][o]! }, (_, i) => ({
                amount: `${i}.99`,
                method: 'CARD' as const,
                status: 'COMPLETED' as const,
                reference: i === 0 ? null : `ref-${i}`,
                createdAt: new Date(at.getTime() + (i === 2 ? 1 : i) * 1000),
              })),
            },
          },
        });
      }
    }
    callers.owner = (await createTestUser(compiled, ['CUSTOMER'], { customerId: customers[0] })).headers;
    callers['other customer'] = (await createTestUser(compiled, ['CUSTOMER'], { customerId: customers[1] })).headers;
    compiled.database.onStatement((event) => {
      if (event.sql.startsWith('SELECT json_build_object(')) compiledStatements += 1;
    });
  });

  afterAll(async () => {
    await compiled?.close();
    await executed?.close();
  });

  const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';
  /** Ids as some clients write them (Swift's `UUID().uuidString` is upper case). */
  const cased = (id: string, upper: boolean) => (upper ? id.toUpperCase() : id);
  /** Each variable the roots may use, with its declared type. */
  const VARIABLES: Record<string, string> = {
    id: 'UUID!',
    limit: 'Int!',
    // Nullable where the argument is not: null is the field's error, on both paths.
    maybeLimit: 'Int',
    yes: 'Boolean!',
    no: 'Boolean!',
    page: 'Int!',
    size: 'Int!',
    filter: 'ProductFilter',
    orderBy: '[ProductOrderBy!]',
    sku: 'String!',
    variantId: 'UUID!',
  };
  const SORT_FIELDS = ['NAME', 'SKU', 'CREATED_AT', 'UPDATED_AT', 'STATUS'] as const;

  /** A root field with its selection and the values of the variables it may use. */
  const root: fc.Arbitrary<{ text: string; values: Record<string, unknown> }> = fc.oneof(
    fc
      .tuple(
        selection('Customer', 3),
        fc.constantFrom(0, 0, 0, 1, 2),
        fc.constantFrom(1, 2, 20, 100, 0, 101),
        fc.constantFrom(null, 3),
        fc.boolean(),
      )
      .map(([body, which, limit, maybeLimit, upper]) => ({
        text: `customer(id: $id) ${body}`,
        values: { id: cased(which === 2 ? UNKNOWN_ID : customers[which]!, upper), limit, maybeLimit },
      })),
    fc
      .tuple(
        selection('ProductPage', 3),
        fc.constantFrom(1, 1, 2, 0),
        fc.constantFrom(1, 2, 5, 50, 101),
        fc.record(
          {
            search: fc.constantFrom(tag, tag.toUpperCase(), `${tag}-1`, '%', '_', 'zzz-none', 'x'.repeat(101)),
            status: fc.constantFrom('ACTIVE', 'ARCHIVED', 'DRAFT'),
            createdFrom: fc.constant('2000-01-01T00:00:00.000Z'),
          },
          { requiredKeys: [] },
        ),
        fc.array(fc.record({ field: fc.constantFrom(...SORT_FIELDS), direction: fc.constantFrom('ASC', 'DESC') }), {
          maxLength: 6,
        }),
      )
      .map(([body, page, size, filter, orderBy]) => ({
        text: `products(page: $page, limit: $size, filter: $filter, orderBy: $orderBy) ${body}`,
        values: { page, size, filter: { search: tag, ...filter }, orderBy },
      })),
    fc.tuple(selection('Product', 3), fc.constantFrom(0, 1, 2, 3)).map(([body, which]) => ({
      text: `productBySku(sku: $sku) ${body}`,
      values: { sku: [`CR-${tag}-0`, `CR-${tag}-2`, 'CR-NONE-1', 'not a sku!'][which] },
    })),
    fc.tuple(selection('ProductVariant', 3), fc.constantFrom(0, 1, 2), fc.boolean()).map(([body, which, upper]) => ({
      text: `variant(id: $variantId) ${body}`,
      values: { variantId: cased(which === 2 ? UNKNOWN_ID : variantIds[which]!, upper) },
    })),
  );

  const operation = fc
    .tuple(
      root,
      fc.boolean(),
      fc.constantFrom<Case['caller']>('admin', 'admin', 'owner', 'other customer', 'anonymous'),
      fc.constantFrom('', ' __typename'),
    )
    .map(([{ text, values }, twice, caller, typename]): Case => {
      const roots = `${text}${twice ? ` again: ${text}` : ''}${typename}`;
      const used = Object.keys(VARIABLES).filter((name) => new RegExp(`\\$${name}\\b`).test(roots));
      return {
        query: `query Compiled${used.length > 0 ? `(${used.map((name) => `$${name}: ${VARIABLES[name]}`).join(', ')})` : ''} { ${roots} }`,
        variables: Object.fromEntries(
          used.map((name) => [name, name === 'yes' ? true : name === 'no' ? false : values[name]]),
        ),
        caller,
      };
    });

  it('answers every query as the executed path does, for any caller', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(operation, async ({ query, variables, caller }) => {
        runs += 1;
        const fromCompiled = await gql(compiled.url, query, variables, callers[caller]);
        const fromExecuted = await gql(executed.url, query, variables, callers[caller]);
        expect(fromCompiled.status).toBe(fromExecuted.status);
        expect(fromCompiled.headers.get('cache-control')).toBe(fromExecuted.headers.get('cache-control'));
        // Byte for byte, but for the budget's running balance and reset time (per app and per second) and
        // the errors' correlation ids.
        const comparable = ({ body }: typeof fromCompiled) => {
          const { cost, ...extensions } = (body as { extensions?: { cost?: { requested: number; actual: number } } })
            .extensions ?? { cost: undefined };
          return JSON.stringify({
            ...body,
            extensions: { ...extensions, cost: [cost?.requested, cost?.actual] },
          }).replace(/"correlationId":"[^"]*"/g, '"correlationId":"…"');
        };
        expect(comparable(fromCompiled)).toBe(comparable(fromExecuted));
      }),
      RUNS,
    );
    // The property would hold trivially if nothing compiled: most cases must have.
    expect(compiledStatements).toBeGreaterThan(runs / 4);
    // A statement that fails falls back to execution, which would hide it from the comparison.
    expect(compiled.logs().filter((line) => line.includes('compiled read failed'))).toEqual([]);
  });

  it('an operation name that names no operation is 400 on both paths', async () => {
    const query = `query One { customer(id: "${UNKNOWN_ID}") { id } } query Two { __typename }`;
    for (const t of [compiled, executed]) {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...t.admin },
        body: JSON.stringify({ query, operationName: 'Nope' }),
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    }
  });
});
