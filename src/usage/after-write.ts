// What follows a batch of records reaching the ledger: its outbox rows go to
// the billing webhook, and its subjects' budgets and quotas are checked for
// thresholds to announce. Both log rather than throw.
import type { Services } from "../services.ts";
import { checkThresholds } from "./alerts.ts";
import { deliverBilling } from "./billing-wake.ts";
import type { UsageRecord } from "./record.ts";

export async function afterWrite(services: Services, records: UsageRecord[]): Promise<void> {
  await Promise.all([
    deliverBilling(services),
    checkThresholds(services.db, services.webhooks.alerts, services.timeZone, records),
  ]);
}
