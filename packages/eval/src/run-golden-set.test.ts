import { join } from 'node:path';
import { type Handler, RelError } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { FakeProvider } from '@rel/testing';
import { describe, expect, it } from 'vitest';
import { loadGoldenSet } from './load-golden-set';
import { runGoldenSet } from './run-golden-set';

const example = join(import.meta.dirname, '../examples/golden.yaml');

describe('runGoldenSet', () => {
  it('runs every case `repeat` times, never more than `concurrency` at once, in the set order', async () => {
    const fake = new FakeProvider();
    let inFlight = 0;
    let peak = 0;
    const handler: Handler = async (req, ctx) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      try {
        return await fake.handler(req, ctx);
      } finally {
        inFlight--;
      }
    };
    const set = await loadGoldenSet(example);
    const progress: number[] = [];
    const results = await runGoldenSet(set, handler, {
      repeat: 3,
      concurrency: 2,
      onProgress: (done) => progress.push(done),
    });
    expect(peak).toBe(2);
    expect(fake.attempts).toHaveLength(33);
    expect(progress).toEqual(Array.from({ length: 33 }, (_, i) => i + 1));
    expect(results.tasks.map((t) => [t.name, t.passed, t.failed])).toEqual([
      ['support-reply', 12, 0],
      ['summarize', 6, 3],
      ['extract-invoice', 12, 0],
    ]);
    const invoice = results.tasks[2]?.cases[0];
    expect(invoice?.runs.map((r) => r.repeat)).toEqual([1, 2, 3]);
    expect(JSON.parse(invoice?.runs[0]?.output ?? '').document_type).toBe('invoice');
    expect(results.tasks[0]?.costUsd?.total).toBeGreaterThan(0);
    expect(results.fingerprint.files['templates/support-reply.txt']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('measures latency on the injected clock, so maxLatencyMs fails a slow model', async () => {
    const clock = new FakeClock();
    const fake = new FakeProvider({ clock }).model('gpt-demo', { latencyMs: 12_000 });
    const set = await loadGoldenSet(example);
    const running = runGoldenSet({ ...set, tasks: set.tasks.slice(0, 1) }, fake.handler, { clock, concurrency: 4 });
    let settled = false;
    running.finally(() => {
      settled = true;
    });
    while (!settled) await clock.advance(1000);
    const results = await running;
    const runs = results.tasks[0]?.cases.flatMap((c) => c.runs) ?? [];
    expect(runs.map((r) => r.latencyMs)).toEqual([12_000, 12_000, 12_000, 12_000]);
    expect(runs[0]?.failures).toEqual(['latency 12000 ms > 10000 ms']);
    expect(results.tasks[0]?.latencyMs.p95).toBe(12_000);
  });

  it('records a failed call as a failed run with its error kind, not an exception', async () => {
    const fake = new FakeProvider().always('gpt-demo', { type: 'server_error', status: 503 });
    const set = await loadGoldenSet(example);
    const results = await runGoldenSet(set, fake.handler);
    const run = results.tasks[0]?.cases[0]?.runs[0];
    expect(run?.pass).toBe(false);
    expect(run?.error?.kind).toBe('provider_unavailable');
    expect(run?.failures[0]).toMatch(/^call failed: /);
  });

  it('fails extract-invoice when the provider breaks the schema (x-fake-fault per request)', async () => {
    const fake = new FakeProvider();
    const handler: Handler = (req, ctx) =>
      fake.handler({ ...req, metadata: { 'x-fake-fault': JSON.stringify({ type: 'invalid_json_output' }) } }, ctx);
    const set = await loadGoldenSet(example);
    const results = await runGoldenSet({ ...set, tasks: set.tasks.slice(2) }, handler);
    expect(results.tasks[0]?.passed).toBe(0);
    expect(results.tasks[0]?.cases[0]?.runs[0]?.failures[0]).toMatch(/^output is not JSON/);
  });

  it('rejects a bad option naming it', async () => {
    const set = await loadGoldenSet(example);
    const error = await runGoldenSet(set, new FakeProvider().handler, { repeat: 0 }).catch((e: unknown) => e);
    expect(RelError.is(error) && error.failure).toEqual({ kind: 'invalid_request', param: 'repeat' });
  });

  it('times a call out on the injected clock as a timeout failure, aborting the call', async () => {
    const clock = new FakeClock();
    let aborted = 0;
    const hang: Handler = (_req, ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener(
          'abort',
          () => {
            aborted++;
            reject(ctx.signal.reason);
          },
          { once: true },
        );
      });
    const set = await loadGoldenSet(example);
    const running = runGoldenSet({ ...set, tasks: set.tasks.slice(1, 2) }, hang, {
      clock,
      timeoutMs: 5000,
      concurrency: 3,
    });
    await clock.advance(4999);
    expect(aborted).toBe(0);
    await clock.advance(1);
    const results = await running;
    const runs = results.tasks[0]?.cases.flatMap((c) => c.runs) ?? [];
    expect(aborted).toBe(3);
    expect(runs.map((r) => r.error?.kind)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(runs[0]?.failures[0]).toMatch(/^call failed: .*5000 ms/);
    expect(clock.pending).toBe(0);
  });

  it('times out a target that ignores the abort signal, so the run still ends', async () => {
    const clock = new FakeClock();
    const deaf: Handler = () => new Promise(() => {});
    const set = await loadGoldenSet(example);
    const running = runGoldenSet({ ...set, tasks: set.tasks.slice(1, 2) }, deaf, { clock, timeoutMs: 1000 });
    await clock.advance(1000);
    const results = await running;
    expect(results.tasks[0]?.failed).toBe(3);
    expect(results.tasks[0]?.cases[0]?.runs[0]?.error?.kind).toBe('timeout');
  });

  it('stops the run with cancelled when its signal aborts', async () => {
    const clock = new FakeClock();
    const outer = new AbortController();
    const deaf: Handler = () => new Promise(() => {});
    const set = await loadGoldenSet(example);
    const running = runGoldenSet(set, deaf, { clock, signal: outer.signal }).catch((e: unknown) => e);
    outer.abort();
    const error = await running;
    expect(RelError.is(error) && error.failure.kind).toBe('cancelled');
    expect(clock.pending).toBe(0);
  });
});
