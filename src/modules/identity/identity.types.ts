import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';

export enum UserOrderField {
  EMAIL = 'EMAIL',
  DISPLAY_NAME = 'DISPLAY_NAME',
  CREATED_AT = 'CREATED_AT',
  LAST_LOGIN_AT = 'LAST_LOGIN_AT',
}
registerEnumType(UserOrderField, {
  name: 'UserOrderField',
  description: 'Fields users can be sorted by. Users who never signed in sort last ascending, first descending.',
});

/** REQ 2.2: the one table from sort enum to column for users. */
export const USER_ORDER_COLUMNS: Readonly<Record<UserOrderField, string>> = {
  EMAIL: 'email',
  DISPLAY_NAME: 'displayName',
  CREATED_AT: 'createdAt',
  LAST_LOGIN_AT: 'lastLoginAt',
};

/**
 * Columns of a user row that never leave the identity module's write side: rows read for the
 * graph omit them, so they cannot leak through a field added by mistake.
 */
export const USER_SECRET_COLUMNS = { passwordHash: true, mfaSecret: true } as const;

@ObjectType({ description: 'A permission a role can grant, checked by its stable key.' })
export class Permission {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { description: 'Stable key checked by the API, e.g. ORDER_WRITE.' })
  key!: string;

  @Field(() => String, { description: 'What the permission allows.' })
  description!: string;
}

@ObjectType({ description: 'A named set of permissions assigned to users.' })
export class Role {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { description: 'Unique name, regardless of letter case.' })
  name!: string;

  @Field(() => String, { description: 'What the role is for.' })
  description!: string;

  @Field(() => Boolean, { description: 'Built-in roles cannot be deleted.' })
  isSystem!: boolean;

  @Field(() => DateTimeScalar, { description: 'When the role was created.' })
  createdAt!: Date;
}

@ObjectType({ description: 'An account that can sign in. Password hashes and MFA secrets are never exposed.' })
export class User {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Field(() => String, { description: 'Sign-in email as entered; unique regardless of letter case.' })
  email!: string;

  @Field(() => String, { description: 'Name shown to other users.' })
  displayName!: string;

  @Field(() => Boolean, { description: 'Whether the user may sign in.' })
  isActive!: boolean;

  @Field(() => UUIDScalar, {
    nullable: true,
    description: 'For customer-facing accounts, the customer whose data this user may see.',
  })
  customerId!: string | null;

  @Field(() => Boolean, { description: 'Whether sign-in requires a second factor.' })
  mfaEnabled!: boolean;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Last successful sign-in; null if never.' })
  lastLoginAt!: Date | null;

  @Field(() => DateTimeScalar, { description: 'When the user was created.' })
  createdAt!: Date;
}

export const UserPage = PageType(User, 'UserPage');
