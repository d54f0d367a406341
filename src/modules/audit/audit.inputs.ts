import { ArrayMaxSize, IsOptional, MaxLength, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { OrderByInput, PaginationArgs, type OrderByEntry } from '../../graphql/pagination.js';
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
export class ListAuditLogsArgs extends PaginationArgs {
  @Field(() => AuditLogFilter, { nullable: true, description: 'Which entries to list.' })
  @IsOptional()
  @ValidateNested()
  filter?: AuditLogFilter;

  @Field(() => [AuditLogOrderBy], {
    nullable: true,
    description: 'Sort keys, most significant first. Default: newest first.',
  })
  @IsOptional()
  @ArrayMaxSize(5)
  @ValidateNested({ each: true })
  orderBy?: OrderByEntry<AuditLogOrderField>[];
}
