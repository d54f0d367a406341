import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ErrorCode } from '../../errors/index.js';

registerEnumType(ErrorCode, {
  name: 'ErrorCode',
  description: 'Every `extensions.code` the API returns. Clients switch on these, never on messages.',
});

@ObjectType({ description: 'Health of one dependency as seen by this instance.' })
export class DependencyHealth {
  @Field(() => String, { description: '`up` or `down`.' })
  status!: 'up' | 'down';

  @Field(() => Float, { description: 'Round-trip time of the probe, in milliseconds.' })
  latencyMs!: number;
}

@ObjectType({ description: 'Liveness and build information of the instance that answered.' })
export class Health {
  @Field(() => String, { description: '`ok` when every dependency is up, `degraded` otherwise.' })
  status!: 'ok' | 'degraded';

  @Field(() => String, { description: 'Version of the gateway build.' })
  version!: string;

  @Field(() => Int, { description: 'Seconds since this instance started.' })
  uptimeSeconds!: number;

  @Field(() => DependencyHealth, { description: 'The PostgreSQL database.' })
  database!: DependencyHealth;
}

@ObjectType({ description: 'One entry of the error catalog.' })
export class ErrorCodeInfo {
  @Field(() => ErrorCode, { description: 'The code carried in `extensions.code`.' })
  code!: ErrorCode;

  @Field(() => Int, { description: 'HTTP status a REST-style caller would see for it.' })
  httpStatus!: number;

  @Field(() => Boolean, { description: 'Whether retrying the same request later may succeed.' })
  retryable!: boolean;

  @Field(() => String, { description: 'What it means and which extensions accompany it.' })
  description!: string;
}
