// The docs gateway in a process of its own: `npx tsx tests/docs/serve.ts`
// prints one JSON line ({"url", "mockUrl"}) once it answers, and stops on
// SIGINT or SIGTERM, or when its parent closes its stdin. The docs suite
// starts it this way (its own module graph, away from the workers project's
// setup); by hand it is the suite's gateway, to try an example against.
import { startDocsGateway } from "./gateway.ts";

const gateway = await startDocsGateway();
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await gateway.close();
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
console.log(JSON.stringify({ url: gateway.url, mockUrl: gateway.mockUrl }));
