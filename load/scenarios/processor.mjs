// Artillery custom functions of the load scenarios (load/scenarios/common.yml).
//
// The data the virtual users need (persisted-operation ids, product skus, search words, the
// variants and warehouse of checkouts) is prepared by load/run-scenario.ts and read here from
// the JSON file named by LOAD_DATA_FILE; the users themselves (token, customerId) come from the
// CSV payload the runner passes with --payload.
import { readFileSync } from 'node:fs';

const dataFile = process.env.LOAD_DATA_FILE;
if (!dataFile) {
  throw new Error('LOAD_DATA_FILE is not set: run the scenarios through `npm run load -- <scenario>`');
}
/**
 * @type {{
 *   operations: Record<string, string>;
 *   catalog: { pageSize: number; lastPage: number; skus: string[]; searchWords: string[] };
 *   checkout: { warehouseId: string; variantIds: string[] };
 * }}
 */
const data = JSON.parse(readFileSync(dataFile, 'utf8'));

function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

function between(low, high) {
  return low + Math.floor(Math.random() * (high - low + 1));
}

/**
 * A catalog page as shoppers browse: mostly the first pages, sometimes deeper, rarely the tail;
 * some visits search by a word of the product names instead.
 */
export function pickBrowse(context, _events, done) {
  const { lastPage, pageSize, searchWords } = data.catalog;
  const roll = Math.random();
  context.vars.limit = pageSize;
  if (roll < 0.15) {
    context.vars.page = between(1, 3);
    context.vars.search = pick(searchWords);
  } else {
    const shallow = Math.random();
    context.vars.page =
      shallow < 0.7
        ? between(1, Math.min(5, lastPage))
        : shallow < 0.95
          ? between(1, Math.min(50, lastPage))
          : between(1, lastPage);
    context.vars.search = null;
  }
  return done();
}

/** A product of the active catalog, uniformly. */
export function pickProduct(context, _events, done) {
  context.vars.sku = pick(data.catalog.skus);
  return done();
}

/** What a checkout buys: one unit of a stocked variant, shipped from the load warehouse. */
export function pickCheckout(context, _events, done) {
  context.vars.variantId = pick(data.checkout.variantIds);
  context.vars.warehouseId = data.checkout.warehouseId;
  context.vars.quantity = 1;
  return done();
}

/**
 * Turns a request into a persisted-operation request: the request's `name` is the operation's
 * name in schema/generated/persisted-operations.json, and only its id is sent (safelist mode).
 */
export function persistedOperation(requestParams, _context, _events, done) {
  const name = requestParams.name;
  const id = data.operations[name];
  if (!id) return done(new Error(`no persisted operation named ${name}`));
  requestParams.json = {
    ...requestParams.json,
    operationName: name,
    extensions: { persistedQuery: { version: 1, sha256Hash: id } },
  };
  return done();
}

/**
 * A request only counts as a success when it is a 200 with data and no GraphQL errors. Anything
 * else fails the virtual user: it stops there, vusers.failed counts it (the scenarios'
 * maxErrorRate checks that) and errors.<operation> <status> <code> says what went wrong.
 */
export function checkGraphQL(requestParams, response, _context, _events, done) {
  let body;
  try {
    body = typeof response.body === 'string' ? JSON.parse(response.body) : response.body;
  } catch {
    body = undefined;
  }
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  if (response.statusCode === 200 && errors.length === 0 && body?.data) return done();
  const code = errors[0]?.extensions?.code ?? (body ? 'NO_DATA' : 'NOT_JSON');
  const error = new Error(`${requestParams.name}: HTTP ${response.statusCode} ${code}`);
  error.code = `${requestParams.name} ${response.statusCode} ${code}`;
  return done(error);
}
