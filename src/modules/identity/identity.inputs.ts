import { IsOptional, MaxLength } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters } from '../../graphql/validation.js';
import { UserOrderField } from './identity.types.js';

export const UserOrderBy = OrderByInput<UserOrderField>(UserOrderField, 'UserOrderBy');

@InputType({ description: 'Filters for the users list; all given filters must match.' })
export class UserFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive text found in the email or display name.' })
  @IsOptional()
  @MaxLength(100)
  @NoControlCharacters()
  search?: string;

  @Field(() => Boolean, { nullable: true, description: 'Only active (true) or only deactivated (false) users.' })
  isActive?: boolean;
}

@ArgsType()
export class ListUsersArgs extends ListArgs(UserFilter, UserOrderBy, {
  filter: 'Which users to list.',
  orderBy: 'Sort keys, most significant first. Default: newest first.',
}) {}

@ArgsType()
export class UserIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the user.' })
  id!: string;
}

@ArgsType()
export class RoleIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the role.' })
  id!: string;
}
