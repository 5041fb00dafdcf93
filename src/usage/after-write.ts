// What follows a batch of records reaching the ledger: its outbox rows go to
// the billing webhook, and its subjects' budgets and quotas are checked for
// thresholds to announce. Both log rather than throw.
import type { Services } from "../services.ts";
import { checkThresholds } from "./alerts.ts";
import type { UsageRecord } from "./record.ts";
import { deliverSoon } from "./webhooks.ts";

export async function afterWrite(services: Services, records: UsageRecord[]): Promise<void> {
  await Promise.all([
    deliverSoon(services.db, services.webhooks.billing),
    checkThresholds(services.db, services.webhooks.alerts, services.timeZone, records),
  ]);
}
