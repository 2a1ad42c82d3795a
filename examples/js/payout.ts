// The spec's function, in TypeScript: it declares the secrets it needs, and the server injects exactly those,
// for the run's environment, when a payout.requested event triggers it. Served by payout-worker.ts (pull mode)
// and payout-push.ts (push mode). It never prints or returns a value: only a SHA-256 digest, which a test
// compares with the digest of the value it set.
import { createFunction } from "ironflow-cpp-sdk";
import { createHash } from "node:crypto";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export const payout = createFunction(
  { id: "payout", triggers: [{ event: "payout.requested" }], secrets: ["STRIPE_KEY", "WEBHOOK_SECRET"] },
  async ({ event, secrets, step, logger }) => {
    const key = secrets.get("STRIPE_KEY"); // Injected at runtime
    const charge = await step.run("charge", async () => {
      // A real app calls Stripe with `key` here; the step's output is recorded, so a retry skips the charge.
      const amount = (event.data as { amount?: number } | null)?.amount ?? 0;
      return { charged: true, amount };
    });
    logger.info(`charged ${charge.amount} with key ${key}`); // the logger prints [REDACTED:STRIPE_KEY]
    return { charge, stripeKeySha256: sha256(key), webhookSecretSet: secrets.has("WEBHOOK_SECRET") };
  },
);
