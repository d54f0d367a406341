import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

export interface Acknowledgement {
  /** The change message exactly as schema:check prints it. */
  change: string;
  /** Why breaking clients is acceptable (deprecation period over, field never shipped…). */
  reason: string;
}

export interface ContractReport {
  changes: Change[];
  breaking: Change[];
  /** Breaking changes nobody acknowledged: schema:check fails on these. */
  unacknowledged: Change[];
}

/** Compares two SDLs with @graphql-inspector and applies the acknowledgements. */
export async function compareSdl(
  previous: string,
  current: string,
  acknowledged: readonly Acknowledgement[],
): Promise<ContractReport> {
  const changes = await diff(buildSchema(previous), buildSchema(current));
  const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
  return {
    changes,
    breaking,
    unacknowledged: breaking.filter(
      (c) => !acknowledged.some((a) => a.change === c.message && a.reason.trim().length > 0),
    ),
  };
}
