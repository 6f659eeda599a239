/**
 * gateway: not written yet. The plan, for whoever picks it up: the fake provider's HTTP server
 * (`@rel/testing` `listenFake`) in its own process as the upstream; autocannon (programmatic API)
 * in its own child process as the load generator; at 1, 10 and 100 connections for 5 s each,
 * non-streaming and streaming: (1) straight to the upstream (the baseline), (2) through
 * `createGateway(config)` from `@rel/gateway` (one alias, one route, no guardrails or budget;
 * then the full composition), (3) through `npx @portkey-ai/gateway --port=N --headless` with
 * `x-portkey-provider: openai` and `x-portkey-custom-host: http://127.0.0.1:PORT/v1`.
 * Report req/s and p50/p95/p99 added over (1); goal: rel adds < 1 ms p50 at 100 connections.
 */
export async function gatewayBench(): Promise<string> {
  throw new Error(
    'gateway benchmark not implemented yet: apps/gateway was still being written when bench/ was; see the plan in src/benchmarks/gateway.ts',
  );
}
