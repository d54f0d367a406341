import { Field, ObjectType } from 'type-graphql';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';

@ObjectType({ description: 'The result of a login step or a token refresh.' })
export class AuthPayload {
  @Field(() => Boolean, {
    description: 'True when a TOTP or backup code must follow (call verifyMfaLogin with mfaToken).',
  })
  mfaRequired!: boolean;

  @Field(() => String, { nullable: true, description: 'Bearer token for the Authorization header; 15 minutes.' })
  accessToken?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the access token expires.' })
  accessTokenExpiresAt?: Date;

  @Field(() => String, { nullable: true, description: 'Single-use token for refreshToken; 7 days. Store it securely.' })
  refreshToken?: string;

  @Field(() => String, {
    nullable: true,
    description: 'Short-lived token for the second login step, when mfaRequired.',
  })
  mfaToken?: string;

  @Field(() => UUIDScalar, { description: 'The user signing in.' })
  userId!: string;
}

@ObjectType({ description: 'The authenticated caller.' })
export class Me {
  @Field(() => UUIDScalar, { description: 'User id.' })
  id!: string;

  @Field(() => String, { description: 'Sign-in email.' })
  email!: string;

  @Field(() => String, { description: 'Display name.' })
  displayName!: string;

  @Field(() => [String], { description: 'Role names.' })
  roles!: string[];

  @Field(() => [String], { description: 'Effective permission keys across all roles.' })
  permissions!: string[];

  @Field(() => UUIDScalar, { nullable: true, description: 'The customer record of a customer-facing account.' })
  customerId!: string | null;

  @Field(() => Boolean, { description: 'Whether a second factor is required at login.' })
  mfaEnabled!: boolean;
}

@ObjectType({ description: 'A new TOTP secret, pending until confirmMfa succeeds.' })
export class MfaEnrollment {
  @Field(() => String, { description: 'Base32 secret, for manual entry in an authenticator app.' })
  secret!: string;

  @Field(() => String, { description: 'otpauth:// URI, usually shown as a QR code.' })
  otpauthUri!: string;
}
