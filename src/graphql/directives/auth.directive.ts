import { getDirective, MapperKind, mapSchema } from '@graphql-tools/utils';
import {
  defaultFieldResolver,
  DirectiveLocation,
  GraphQLDirective,
  GraphQLEnumType,
  GraphQLList,
  GraphQLNonNull,
  type GraphQLSchema,
} from 'graphql';
import { ForbiddenError, UnauthenticatedError } from '../../errors/index.js';
import { PERMISSIONS, type PermissionKey } from '../../modules/identity/index.js';
import type { Actor } from '../../platform/service-context.js';
import type { GraphQLContext } from '../context.js';

/** The permission keys as an enum, so `@auth(anyOf: [...])` is checked by GraphQL itself. */
export const PermissionKeyEnum = new GraphQLEnumType({
  name: 'PermissionKey',
  description: 'A permission a role can grant; `@auth(anyOf: [...])` on a field names the ones that open it.',
  values: Object.fromEntries(Object.entries(PERMISSIONS).map(([key, description]) => [key, { description }])),
});

/**
 * `@auth` on a field: the caller must be authenticated and, when `anyOf` is given, hold at
 * least one of the listed permissions. Visible in the SDL, so clients and reviewers see what
 * every field requires.
 */
export const authDirective = new GraphQLDirective({
  name: 'auth',
  description: 'Requires an authenticated caller holding at least one of `anyOf` (any caller when omitted).',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    anyOf: {
      type: new GraphQLList(new GraphQLNonNull(PermissionKeyEnum)),
      description: 'Permissions that open the field; holding one is enough.',
    },
  },
});

/**
 * `@sensitive` on a field of personal data: every read is recorded in the audit log with the
 * reader and the record (REQ 18.3), batched so it does not slow reads down.
 */
export const sensitiveDirective = new GraphQLDirective({
  name: 'sensitive',
  description: 'Personal data: reads are recorded in the audit log (reader and record).',
  locations: [DirectiveLocation.FIELD_DEFINITION],
});

/** `@public`: the explicit decision that anyone may call a field (secure by default). */
export const publicDirective = new GraphQLDirective({
  name: 'public',
  description: 'Callable without authentication: an explicit, reviewed decision.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
});

export function assertAuthorized(actor: Actor, anyOf: readonly PermissionKey[] | undefined): void {
  if (actor.userId === null) throw new UnauthenticatedError();
  if (anyOf && anyOf.length > 0 && !anyOf.some((permission) => actor.permissions.has(permission))) {
    throw new ForbiddenError(undefined, { requiredAnyOf: anyOf });
  }
}

/**
 * DESIGN.md section 4 "secure by default" (Redwood's validateSchemaForDirectives): refuses a
 * schema in which any Query or Mutation field has no explicit decision, @auth or @public.
 */
export function assertEveryRootFieldDecided(schema: GraphQLSchema): void {
  const problems: string[] = [];
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      const auth = getDirective(schema, field, 'auth')?.[0];
      const isPublic = getDirective(schema, field, 'public')?.[0];
      if (!auth && !isPublic) problems.push(`${root.name}.${field.name} has neither @auth nor @public`);
      if (auth && isPublic) problems.push(`${root.name}.${field.name} has both @auth and @public`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`Refusing to serve a schema with undecided access:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * Records one audit event per sensitive record per request, whichever and however many of its
 * sensitive fields were read.
 */
function recordSensitiveRead(context: GraphQLContext, typeName: string, source: unknown): void {
  const id = (source as { id?: unknown } | null)?.id;
  if (typeof id !== 'string') return;
  const key = `${typeName}:${id}`;
  if (context.sensitiveReads.has(key)) return;
  context.sensitiveReads.add(key);
  context.identity.audit.recordBatched({
    eventType: 'data.sensitive.read',
    action: 'read',
    success: true,
    userId: context.actor.userId,
    resourceId: id,
    ipAddress: context.clientIp,
    userAgent: context.userAgent ?? null,
    details: { type: typeName, requestId: context.requestId },
  });
}

/**
 * Wraps every field carrying @auth so the check runs before its resolver and argument
 * validation, and every @sensitive field so its reads are audited.
 */
export function applyAuthDirectives(schema: GraphQLSchema): GraphQLSchema {
  assertEveryRootFieldDecided(schema);
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig, _fieldName, typeName) => {
      const auth = getDirective(schema, fieldConfig, 'auth')?.[0] as { anyOf?: PermissionKey[] } | undefined;
      const sensitive = Boolean(getDirective(schema, fieldConfig, 'sensitive')?.[0]);
      if (!auth && !sensitive) return fieldConfig;
      const resolve = fieldConfig.resolve ?? defaultFieldResolver;
      const anyOf = auth?.anyOf;
      return {
        ...fieldConfig,
        resolve(source, args, context: GraphQLContext, info) {
          if (auth) assertAuthorized(context.actor, anyOf);
          if (sensitive) recordSensitiveRead(context, typeName, source);
          return resolve(source, args, context, info);
        },
      };
    },
  });
}
