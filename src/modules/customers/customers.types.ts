import { Directive, Field, ObjectType, registerEnumType } from 'type-graphql';
import { PageType } from '../../graphql/pagination.js';
import { DateTimeScalar, UUIDScalar } from '../../graphql/scalars.js';

export enum CustomerOrderField {
  NAME = 'NAME',
  EMAIL = 'EMAIL',
  CREATED_AT = 'CREATED_AT',
}
registerEnumType(CustomerOrderField, { name: 'CustomerOrderField', description: 'Fields customers can be sorted by.' });

/** REQ 2.2: the one table from sort enum to column for customers. */
export const CUSTOMER_ORDER_COLUMNS: Readonly<Record<CustomerOrderField, string>> = {
  NAME: 'name',
  EMAIL: 'email',
  CREATED_AT: 'createdAt',
};

@ObjectType({ description: 'A buyer: a company or person orders are placed for.' })
export class Customer {
  @Field(() => UUIDScalar, { description: 'Unique id.' })
  id!: string;

  @Directive('@sensitive')
  @Field(() => String, { description: 'Contact email as entered; unique regardless of letter case.' })
  email!: string;

  @Field(() => String, { description: 'Display name.' })
  name!: string;

  @Directive('@sensitive')
  @Field(() => String, { nullable: true, description: 'Contact phone number, as entered.' })
  phone!: string | null;

  @Directive('@sensitive')
  @Field(() => String, { nullable: true, description: 'Free-form postal address as entered; may span lines.' })
  address!: string | null;

  @Field(() => DateTimeScalar, { description: 'When the customer was created.' })
  createdAt!: Date;

  @Field(() => DateTimeScalar, { description: 'When the customer was last changed.' })
  updatedAt!: Date;
}

export const CustomerPage = PageType(Customer, 'CustomerPage');
