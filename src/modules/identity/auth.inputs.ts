import { ArrayMaxSize, IsEmail, Length, MaxLength, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters, NotBlank } from '../../graphql/validation.js';

@InputType({ description: 'Email and password.' })
export class LoginInput {
  @Field(() => String, { description: 'Sign-in email; letter case does not matter.' })
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @Field(() => String, { description: 'The password.' })
  @Length(1, 128)
  password!: string;
}

@ArgsType()
export class LoginArgs {
  @Field(() => LoginInput, { description: 'Credentials.' })
  @ValidateNested()
  input!: LoginInput;
}

@InputType({ description: 'A refresh token to exchange for new tokens.' })
export class RefreshInput {
  @Field(() => String, { description: 'The refresh token from the last login or refresh.' })
  @Length(20, 200)
  refreshToken!: string;
}

@ArgsType()
export class RefreshArgs {
  @Field(() => RefreshInput, { description: 'The token.' })
  @ValidateNested()
  input!: RefreshInput;
}

@InputType({ description: 'The current and the new password.' })
export class ChangePasswordInput {
  @Field(() => String, { description: 'The password in use now.' })
  @Length(1, 128)
  currentPassword!: string;

  @Field(() => String, { description: 'The new password: 12+ characters, not common, not containing the email.' })
  @Length(1, 128)
  newPassword!: string;
}

@ArgsType()
export class ChangePasswordArgs {
  @Field(() => ChangePasswordInput, { description: 'The change.' })
  @ValidateNested()
  input!: ChangePasswordInput;
}

@InputType({ description: 'A new user account.' })
export class CreateUserInput {
  @Field(() => String, { description: 'Sign-in email, unique regardless of letter case.' })
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @Field(() => String, { description: 'Display name, 1-200 characters.' })
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  displayName!: string;

  @Field(() => String, { description: 'Initial password (same rules as changePassword).' })
  @Length(1, 128)
  password!: string;

  @Field(() => [String], { defaultValue: [], description: 'Names of roles to assign.' })
  @ArrayMaxSize(20)
  roleNames!: string[];

  @Field(() => UUIDScalar, {
    nullable: true,
    description: 'For a customer-facing account: the customer it belongs to.',
  })
  customerId?: string;
}

@ArgsType()
export class CreateUserArgs {
  @Field(() => CreateUserInput, { description: 'The user.' })
  @ValidateNested()
  input!: CreateUserInput;
}

@InputType({ description: 'A new role.' })
export class CreateRoleInput {
  @Field(() => String, { description: 'Unique name, e.g. REGIONAL_MANAGER.' })
  @Length(2, 64)
  @NotBlank()
  @NoControlCharacters()
  name!: string;

  @Field(() => String, { defaultValue: '', description: 'What the role is for.' })
  @MaxLength(500)
  @NoControlCharacters()
  description!: string;
}

@ArgsType()
export class CreateRoleArgs {
  @Field(() => CreateRoleInput, { description: 'The role.' })
  @ValidateNested()
  input!: CreateRoleInput;
}

@InputType({ description: 'A user and a role.' })
export class UserRoleInput {
  @Field(() => UUIDScalar, { description: 'The user.' })
  userId!: string;

  @Field(() => String, { description: 'The role name.' })
  @Length(1, 64)
  roleName!: string;
}

@ArgsType()
export class UserRoleArgs {
  @Field(() => UserRoleInput, { description: 'Who and which role.' })
  @ValidateNested()
  input!: UserRoleInput;
}

@InputType({ description: 'A role and a permission.' })
export class RolePermissionInput {
  @Field(() => String, { description: 'The role name.' })
  @Length(1, 64)
  roleName!: string;

  @Field(() => String, { description: 'The permission key, e.g. ORDER_READ.' })
  @Length(1, 64)
  permission!: string;
}

@ArgsType()
export class RolePermissionArgs {
  @Field(() => RolePermissionInput, { description: 'Which role and permission.' })
  @ValidateNested()
  input!: RolePermissionInput;
}

@InputType({ description: 'A code from the authenticator app (6 digits) or a backup code.' })
export class MfaCodeInput {
  @Field(() => String, { description: 'The code.' })
  @Length(6, 11)
  @NoControlCharacters()
  code!: string;
}

@ArgsType()
export class MfaCodeArgs {
  @Field(() => MfaCodeInput, { description: 'The code.' })
  @ValidateNested()
  input!: MfaCodeInput;
}

@InputType({ description: 'The second login step.' })
export class VerifyMfaInput {
  @Field(() => String, { description: 'The mfaToken returned by login.' })
  @Length(20, 2000)
  mfaToken!: string;

  @Field(() => String, { description: 'A code from the authenticator app or an unused backup code.' })
  @Length(6, 11)
  @NoControlCharacters()
  code!: string;
}

@ArgsType()
export class VerifyMfaArgs {
  @Field(() => VerifyMfaInput, { description: 'Challenge and code.' })
  @ValidateNested()
  input!: VerifyMfaInput;
}
