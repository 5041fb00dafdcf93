// The billing queue's messages: wake-ups for the billing outbox's next
// delivery pass (see billing-wake.ts).

/** One message on the billing queue: run a delivery pass (`at`: when it was asked for, ms since the epoch). */
export interface BillingWake {
  kind: "billing.wake";
  at: number;
}

/** The producer side of the billing queue (a Workers Queue binding). */
export interface BillingQueue {
  send(message: BillingWake, options?: { delaySeconds?: number }): Promise<unknown>;
}
