// Push mode: the same `payout` function behind a plain node:http server. The Ironflow server POSTs each run,
// signed with its signing key (IRONFLOW_SIGNING_KEY here: `ironflow signing-key show`); unsigned calls get 401.
// Listens on 127.0.0.1:IRONFLOW_PUSH_PORT (0: any free port) and registers its URL with the server.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

import { registerPushFunctions, serve } from "ironflow-cpp-sdk";

import { payout } from "./payout.js";

const handler = serve({ functions: [payout] });
const server = createServer(handler);
server.listen(Number(process.env.IRONFLOW_PUSH_PORT ?? 0), "127.0.0.1", async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/ironflow`;
  try {
    await registerPushFunctions({ functions: [payout], url });
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(`payout push endpoint listening on ${url}`);
});
const shutdown = () => server.close(() => process.exit(0));
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
