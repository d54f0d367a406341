import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters } from '../../graphql/validation.js';
import { AuditLogOrderField } from './audit.types.js';

export const AuditLogOrderBy = OrderByInput<AuditLogOrderField>(AuditLogOrderField, 'AuditLogOrderBy');

@InputType({ description: 'Filters for the audit log; all given filters must match.' })
export class AuditLogFilter {
  @Field(() => UUIDScalar, { nullable: true, description: 'Only events of this user.' })
  userId?: string;

  @Field(() => String, { nullable: true, description: 'Only events of exactly this type.' })
  @IsOptional()
  @MaxLength(100)
  @NoControlCharacters()
  eventType?: string;

  @Field(() => String, { nullable: true, description: 'Only events on exactly this resource.' })
  @IsOptional()
  @MaxLength(255)
  @NoControlCharacters()
  resourceId?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'At or after this instant.' })
  from?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Before this instant.' })
  to?: Date;
}

@ArgsType()
export class ListAuditLogsArgs extends ListArgs(AuditLogFilter, AuditLogOrderBy, {
  filter: 'Which entries to list.',
  orderBy: 'Sort keys, most significant first. Default: newest first.',
}) {}
