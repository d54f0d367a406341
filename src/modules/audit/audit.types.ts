import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, JSONObjectScalar, UUIDScalar } from '../../graphql/scalars.js';

export enum AuditLogOrderField {
  TIMESTAMP = 'TIMESTAMP',
  EVENT_TYPE = 'EVENT_TYPE',
}
registerEnumType(AuditLogOrderField, {
  name: 'AuditLogOrderField',
  description: 'Fields audit log entries can be sorted by.',
});

/** REQ 2.2: the one table from sort enum to column for audit log entries. */
export const AUDIT_LOG_ORDER_COLUMNS: Readonly<Record<AuditLogOrderField, string>> = {
  TIMESTAMP: 'timestamp',
  EVENT_TYPE: 'eventType',
};

@ObjectType({ description: 'One entry of the append-only audit log (REQ 18.4): who did what, when, from where.' })
export class AuditLog {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, {
    description: 'Position in the log, increasing with every entry; a decimal string because it may exceed 2^53.',
  })
  sequence!: string;

  @Field(() => DateTimeScalar, { description: 'When the event happened.' })
  timestamp!: Date;

  @Field(() => String, { description: 'Kind of event, e.g. auth.login.' })
  eventType!: string;

  @Field(() => UUIDScalar, { nullable: true, description: 'The user who acted; null for anonymous events.' })
  userId!: string | null;

  @Field(() => String, { nullable: true, description: 'The resource acted on, when there is one.' })
  resourceId!: string | null;

  @Field(() => String, { description: 'What was done, e.g. LOGIN or UPDATE.' })
  action!: string;

  @Field(() => String, { nullable: true, description: 'Client address the request came from, when known.' })
  ipAddress!: string | null;

  @Field(() => String, { nullable: true, description: 'Client user agent, when known.' })
  userAgent!: string | null;

  @Field(() => Boolean, { description: 'Whether the action succeeded.' })
  success!: boolean;

  @Field(() => JSONObjectScalar, { nullable: true, description: 'Event-specific structured details.' })
  details!: unknown;
}

export const AuditLogPage = PageType(AuditLog, 'AuditLogPage');
