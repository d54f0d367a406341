/** Seconds a shed client is asked to wait: short, the condition clears as operations finish. */
export const SHED_RETRY_AFTER_SECONDS = 1;

export interface AdmissionOptions {
  /** Operations executing at once; 0 admits everything. */
  maxInFlight: number;
  /** Called for every refused request (the shed counter). */
  onShed(): void;
}

/**
 * Admission control for executed operations (issue 7, stress: "past saturation the gateway
 * answers 503 with Retry-After quickly and recovers"). Beyond `maxInFlight` an operation would
 * only queue for the database pool and answer late for everyone; refusing it at once keeps the
 * admitted ones fast and lets a load balancer or client retry elsewhere. Event-loop delay
 * (under-pressure in security.ts) catches CPU saturation; this catches a full pool, where the
 * loop stays idle while requests wait. Recovery is immediate: the count drops as operations end.
 */
export function createAdmission(options: AdmissionOptions) {
  let inFlight = 0;
  return {
    /** Admits one operation, or refuses it (the caller answers 503). Every admission needs one `leave`. */
    tryEnter(): boolean {
      if (options.maxInFlight > 0 && inFlight >= options.maxInFlight) {
        options.onShed();
        return false;
      }
      inFlight += 1;
      return true;
    },
    leave(): void {
      inFlight -= 1;
    },
    inFlight: () => inFlight,
  };
}

export type Admission = ReturnType<typeof createAdmission>;
