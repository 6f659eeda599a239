import { describe, expect, it } from 'vitest';
import { memoryOtel, startStack } from './helpers';

describe('an embedding app supplies its own OpenTelemetry SDK', () => {
  it('records spans, metrics and log records in the providers given to createGateway, and leaves them running', async () => {
    const otel = memoryOtel();
    const stack = await startStack({}, { otel: otel.providers });
    try {
      await stack.client().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
      const names = (await otel.spans()).map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(['rel chat chat', 'chat gpt-primary']));
      const durations = await otel.points('gen_ai.client.operation.duration');
      expect(durations.map((p) => p.attributes['gen_ai.request.model'])).toContain('chat');
      expect(otel.logRecords().map((r) => r.eventName ?? r.body)).toHaveLength(1);
      // No SDK of the gateway's own: no Prometheus endpoint unless the app hands one over.
      expect((await fetch(`${stack.gateway.url}/metrics`)).status).toBe(404);
    } finally {
      await stack.close();
    }
    // The app owns its providers: the gateway's shutdown did not shut them down.
    const after = await otel.points('gen_ai.client.operation.duration');
    expect(after.length).toBeGreaterThan(0);
    await otel.shutdown();
  });
});
