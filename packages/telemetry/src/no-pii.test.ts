import { EventHub, type LlmRequest, RequestContext, compose } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { FakeProvider } from '@rel/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type OtelHarness, otelHarness } from '../test/otel-harness';
import { charging, drive, passingGuardrail } from '../test/scenario';
import { createTelemetry } from './telemetry';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const API_KEY = 'sk-proj-Zq8vN3kLw9Xr2Tb7Hc4Md1Fs6Gp0Jy5Ue';
const SECRETS = [EMAIL, CARD, CARD.replaceAll(' ', ''), API_KEY, 'jane.doe', 'sk-proj-'];
const PROMPT = `Refund my order. Email ${EMAIL}, card ${CARD}, and my key is ${API_KEY}.`;

const request: LlmRequest = {
  model: 'gpt-4o',
  messages: [
    { role: 'system', content: `Support bot. Escalate to ${EMAIL}.` },
    { role: 'user', content: PROMPT },
  ],
};

/** Everything the SDK exported, as JSON: spans (names, attributes, events, status), metric points and log records. */
async function exported(otel: OtelHarness) {
  const spans = (await otel.spans()).map((s) => ({
    name: s.name,
    attributes: s.attributes,
    status: s.status,
    events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    links: s.links,
  }));
  const metrics = [...(await otel.metrics()).values()].map((m) => ({
    descriptor: m.descriptor,
    points: m.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value })),
  }));
  const logs = (await otel.logs()).map((l) => ({
    body: l.body,
    eventName: l.eventName,
    severityText: l.severityText,
    attributes: l.attributes,
  }));
  return {
    spans: JSON.stringify(spans),
    metrics: JSON.stringify(metrics),
    logs: JSON.stringify(logs),
    lines: otel.rawLines.join(''),
  };
}

describe('no prompt text, PII or secret is exported', () => {
  let otel: OtelHarness;
  afterEach(async () => {
    await otel.shutdown();
  });

  function setup(captureContent: boolean) {
    otel = otelHarness();
    const clock = new FakeClock();
    const hub = new EventHub();
    const fake = new FakeProvider({ clock });
    const telemetry = createTelemetry({
      tracerProvider: otel.tracerProvider,
      meterProvider: otel.meterProvider,
      loggerProvider: otel.loggerProvider,
      jsonLines: otel.jsonLines,
      events: hub,
      captureContent,
      hashSalt: 'pii-test-salt',
    });
    const attempt = telemetry.attempt({ provider: 'openai', serverAddress: 'api.openai.com', serverPort: 443 });
    const ok = compose(telemetry.request, charging, passingGuardrail(hub), attempt)(fake.handler);
    // A failure whose message quotes the prompt, as a careless upstream error might.
    const leaky = compose(
      telemetry.request,
      attempt,
    )(async () => {
      throw new Error(`upstream rejected: ${PROMPT}`);
    });
    const context = (requestId: string) =>
      new RequestContext({
        requestId,
        // Ids that are themselves PII or secrets are hashed, never exported in clear.
        idempotencyKey: API_KEY,
        principal: { orgId: 'acme', userId: EMAIL },
        clock,
        events: hub,
      });
    return { ok, leaky, clock, context };
  }

  it('finds none of an email, a card number and an API key from the prompt in any span, metric point, log record or JSON line', async () => {
    const { ok, leaky, clock, context } = setup(false);
    await drive(clock, ok(request, context('req_pii_1')));
    await drive(
      clock,
      (async () => {
        const res = await ok({ ...request, stream: true }, context('req_pii_2'));
        if (res.type === 'stream') for await (const _ of res.chunks);
      })(),
    );
    await expect(leaky(request, context('req_pii_3'))).rejects.toThrow(EMAIL);

    const out = await exported(otel);
    // The export is not empty: three requests' worth of spans, metrics, records and lines.
    expect(out.spans).toContain('req_pii_3');
    expect(out.metrics).toContain('gen_ai.client.operation.duration');
    expect(out.logs).toContain('req_pii_2');
    expect(otel.rawLines).toHaveLength(3);
    for (const [where, text] of Object.entries(out)) {
      for (const secret of SECRETS) expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
    }
  });

  it('puts message content only on attempt spans when captureContent is on, never in metrics, logs or lines', async () => {
    const { ok, clock, context } = setup(true);
    await drive(clock, ok(request, context('req_content')));
    const spans = await otel.spans();
    const attempt = spans.find((s) => s.name === 'chat gpt-4o');
    expect(JSON.parse(String(attempt?.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: `Support bot. Escalate to ${EMAIL}.` }] },
      { role: 'user', parts: [{ type: 'text', content: PROMPT }] },
    ]);
    expect(JSON.parse(String(attempt?.attributes['gen_ai.output.messages']))).toMatchObject([
      { role: 'assistant', finish_reason: 'stop', parts: [{ type: 'text' }] },
    ]);
    let streamedText = '';
    await drive(
      clock,
      (async () => {
        const res = await ok({ ...request, stream: true }, context('req_content_stream'));
        if (res.type === 'stream')
          for await (const c of res.chunks) if (c.type === 'text-delta') streamedText += c.text;
      })(),
    );
    const streamedAttempt = (await otel.spans()).filter((s) => s.name === 'chat gpt-4o').at(-1);
    expect(JSON.parse(String(streamedAttempt?.attributes['gen_ai.output.messages']))).toEqual([
      { role: 'assistant', finish_reason: 'stop', parts: [{ type: 'text', content: streamedText }] },
    ]);
    const out = await exported(otel);
    for (const text of [out.metrics, out.logs, out.lines]) expect(text.includes(EMAIL)).toBe(false);
    const requestSpan = spans.find((s) => s.name === 'rel chat gpt-4o');
    expect(JSON.stringify(requestSpan?.attributes).includes(EMAIL)).toBe(false);
  });
});
