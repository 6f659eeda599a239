import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KEYS, startStack } from './helpers';

/** A stand-in OTLP/HTTP collector that keeps every body it receives, by path. */
async function collector() {
  const received: { path: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((r) => server.close(r)) };
}

describe('OTLP over HTTP', () => {
  it('exports traces, metrics and logs on shutdown, with no prompt, PII or key in them', async () => {
    const otlp = await collector();
    const stack = await startStack({
      telemetry: { otlp: { endpoint: otlp.url, headersFromEnv: { authorization: 'OTLP_TOKEN' } }, jsonLogs: false },
    });
    const email = 'someone.private@example.net';
    await stack.client().chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: `Forward the contract to ${email} tonight.` }],
    });
    await stack.close(); // flushes every exporter
    await otlp.close();
    const paths = new Set(otlp.received.map((r) => r.path));
    expect(paths).toEqual(new Set(['/v1/traces', '/v1/metrics', '/v1/logs']));
    const all = otlp.received.map((r) => r.body).join('\n');
    expect(all).toContain('gen_ai.client.operation.duration');
    expect(all).toContain('rel.request');
    for (const secret of [email, 'contract', KEYS.acme, 'sk-upstream-secret']) expect(all).not.toContain(secret);
  });
});
