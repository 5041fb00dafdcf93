// The mock upstream for benchmarks, in its own process; tells its parent its
// address and each request's arrival.
import { startMockUpstream } from "../dev/mock-upstream/server.ts";

const mock = await startMockUpstream({ onRequest: (requestId) => process.send?.({ arrived: requestId }) });
process.send?.({ url: mock.url });
process.on("SIGTERM", () => void mock.close().then(() => process.exit(0)));
