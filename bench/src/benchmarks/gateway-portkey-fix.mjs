// Preloaded into the @portkey-ai/gateway process for the streaming runs only (`node --import`).
// Portkey 1.15.2 with @hono/node-server > 1.14.2 (1.19 here) answers every streamed chat completion
// with 500 `TypeError: immutable`: it appends its x-portkey-* headers to the upstream fetch
// response's headers, which the fetch spec makes immutable (Portkey-AI/gateway#1389, #1550).
// The workaround: hand Portkey a copy of each upstream response with mutable headers (one
// Response and Headers copy per request; the body stream is passed through, not read).
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const res = await upstreamFetch(...args);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
};
