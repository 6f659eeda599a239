/**
 * Child of the gateway benchmark: rel's fake provider over HTTP on 127.0.0.1 (the upstream every
 * gateway routes to, and the direct baseline). Sends `{ port }` over IPC once listening; exits on
 * SIGTERM or when the parent goes away.
 */
import { FakeProvider } from '@rel/testing';

const fake = new FakeProvider();
const server = await fake.listen();
// The fake records every attempt (messages, headers) for tests; a benchmark run would grow that
// log by hundreds of thousands of entries, so it is emptied every second (no models are configured,
// so `reset` forgets nothing else).
const sweep = setInterval(() => fake.reset(), 1_000);
process.send?.({ port: server.port });

const stop = () => {
  clearInterval(sweep);
  server.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
