// Pull mode: a worker that runs `payout`. It long-polls the server named by IRONFLOW_SERVER_URL with
// IRONFLOW_API_KEY in IRONFLOW_ENV (IRONFLOW_CA_FILE for https). Ctrl-C drains it: jobs received finish first.
import { createWorker } from "ironflow-cpp-sdk";

import { payout } from "./payout.js";

const worker = createWorker({ functions: [payout], maxConcurrentJobs: 8 });
console.log(`payout worker: environment ${process.env.IRONFLOW_ENV ?? "default"} (Ctrl-C to stop)`);
worker.start().then(
  () => console.log("payout worker stopped"),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
  },
);
