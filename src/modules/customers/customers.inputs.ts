import { IsEmail, IsOptional, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { ArgsType, Field, InputType } from 'type-graphql';
import { ListArgs, OrderByInput } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';
import { NoControlCharacters, NotBlank } from '../../graphql/validation.js';
import { CustomerOrderField } from './customers.types.js';

/** RFC 5321: a forward path holds at most 254 characters of address. */
const MAX_EMAIL = 254;
const PHONE = /^\+?[0-9 ()-]{3,40}$/;
const PHONE_MESSAGE = 'phone must be 3-40 digits, spaces, parentheses or dashes, optionally after a leading +';
// The column is VARCHAR(40); the pattern alone would let a leading "+" make it 41.
const MAX_PHONE = 40;

export const CustomerOrderBy = OrderByInput<CustomerOrderField>(CustomerOrderField, 'CustomerOrderBy');

@InputType({ description: 'Filters for the customers list; all given filters must match.' })
export class CustomerFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive text found in the name or email.' })
  @IsOptional()
  @MaxLength(100)
  @NoControlCharacters()
  search?: string;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Created at or after this instant.' })
  createdFrom?: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Created before this instant.' })
  createdTo?: Date;
}

@ArgsType()
export class ListCustomersArgs extends ListArgs(CustomerFilter, CustomerOrderBy, {
  filter: 'Which customers to list.',
  orderBy: 'Sort keys, most significant first. Default: newest first.',
}) {}

@ArgsType()
export class CustomerIdArgs {
  @Field(() => UUIDScalar, { description: 'Id of the customer.' })
  id!: string;
}

@ArgsType()
export class CustomerByEmailArgs {
  @Field(() => String, { description: 'Email of the customer; letter case does not matter.' })
  @IsEmail()
  @MaxLength(MAX_EMAIL)
  @NoControlCharacters()
  email!: string;
}

@InputType({ description: 'A new customer.' })
export class CreateCustomerInput {
  @Field(() => String, {
    description: `Contact email, unique regardless of letter case; up to ${MAX_EMAIL} characters.`,
  })
  @IsEmail()
  @MaxLength(MAX_EMAIL)
  @NoControlCharacters()
  email!: string;

  @Field(() => String, { description: 'Display name, 1-200 characters.' })
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name!: string;

  @Field(() => String, { nullable: true, description: 'Contact phone: digits, spaces, ( ) and -, optional leading +.' })
  @IsOptional()
  @Matches(PHONE, { message: PHONE_MESSAGE })
  @MaxLength(MAX_PHONE)
  @NoControlCharacters()
  phone?: string;

  @Field(() => String, { nullable: true, description: 'Postal address, up to 1000 characters; may span lines.' })
  @IsOptional()
  @MaxLength(1000)
  @NoControlCharacters({ multiline: true })
  address?: string;
}

@ArgsType()
export class CreateCustomerArgs {
  @Field(() => CreateCustomerInput, { description: 'The customer to create.' })
  @ValidateNested()
  input!: CreateCustomerInput;
}

@InputType({
  description: 'Changes to a customer; omitted fields stay as they are, and null clears phone or address.',
})
export class UpdateCustomerInput {
  @Field(() => String, { nullable: true, description: 'New contact email; unique regardless of letter case.' })
  @IsOptional()
  @IsEmail()
  @MaxLength(MAX_EMAIL)
  @NoControlCharacters()
  email?: string | null;

  @Field(() => String, { nullable: true, description: 'New display name, 1-200 characters.' })
  @IsOptional()
  @Length(1, 200)
  @NotBlank()
  @NoControlCharacters()
  name?: string | null;

  @Field(() => String, { nullable: true, description: 'New contact phone; null removes it.' })
  @IsOptional()
  @Matches(PHONE, { message: PHONE_MESSAGE })
  @MaxLength(MAX_PHONE)
  @NoControlCharacters()
  phone?: string | null;

  @Field(() => String, { nullable: true, description: 'New postal address; null removes it.' })
  @IsOptional()
  @MaxLength(1000)
  @NoControlCharacters({ multiline: true })
  address?: string | null;
}

@ArgsType()
export class UpdateCustomerArgs {
  @Field(() => UUIDScalar, { description: 'Id of the customer to change.' })
  id!: string;

  @Field(() => UpdateCustomerInput, { description: 'The changes.' })
  @ValidateNested()
  input!: UpdateCustomerInput;
}
