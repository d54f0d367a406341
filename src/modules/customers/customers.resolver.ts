import { Args, Ctx, Directive, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { canAccessCustomer } from '../../platform/service-context.js';
import {
  CreateCustomerArgs,
  CustomerByEmailArgs,
  CustomerIdArgs,
  ListCustomersArgs,
  UpdateCustomerArgs,
} from './customers.inputs.js';
import { createCustomer, getCustomerByEmail, listCustomers, updateCustomer } from './customers.service.js';
import { Customer, CustomerPage } from './customers.types.js';

@Resolver(() => Customer)
export class CustomerResolver {
  @Directive('@auth(anyOf: [CUSTOMER_READ, SELF_SERVICE])')
  @Query(() => Customer, { nullable: true, description: 'A customer by id; null when there is none.' })
  async customer(@Args(() => CustomerIdArgs) { id }: CustomerIdArgs, @Ctx() ctx: GraphQLContext) {
    // A self-service caller sees its own record only; any other id looks like no customer.
    if (!canAccessCustomer(ctx.actor, id, 'CUSTOMER_READ')) return null;
    return ctx.loaders.customers.customerById.load(id);
  }

  @Directive('@auth(anyOf: [CUSTOMER_READ])')
  @Query(() => Customer, {
    nullable: true,
    description: 'A customer by email, ignoring letter case; null when there is none.',
  })
  customerByEmail(@Args(() => CustomerByEmailArgs) { email }: CustomerByEmailArgs, @Ctx() ctx: GraphQLContext) {
    return getCustomerByEmail(ctx, email);
  }

  @Directive('@auth(anyOf: [CUSTOMER_READ])')
  @Query(() => CustomerPage, { description: 'Customers, filtered, sorted and paginated.' })
  customers(@Args(() => ListCustomersArgs) args: ListCustomersArgs, @Ctx() ctx: GraphQLContext) {
    return listCustomers(ctx, args);
  }

  @Directive('@auth(anyOf: [CUSTOMER_WRITE])')
  @Mutation(() => Customer, {
    description: 'Creates a customer. CONFLICT on field email when the email is taken, in any letter case.',
  })
  createCustomer(@Args(() => CreateCustomerArgs) { input }: CreateCustomerArgs, @Ctx() ctx: GraphQLContext) {
    return createCustomer(ctx, input);
  }

  @Directive('@auth(anyOf: [CUSTOMER_WRITE])')
  @Mutation(() => Customer, {
    description: 'Changes a customer. NOT_FOUND when it does not exist; CONFLICT when the new email is taken.',
  })
  updateCustomer(@Args(() => UpdateCustomerArgs) { id, input }: UpdateCustomerArgs, @Ctx() ctx: GraphQLContext) {
    return updateCustomer(ctx, id, input);
  }
}
