import { Writable } from 'node:stream';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { EventSink } from './event-sink';

/** A real Writable that records each write; `hold` keeps writes unacknowledged (a slow reader). */
function recorder(options: { highWaterMark?: number; hold?: boolean } = {}) {
  const writes: string[] = [];
  const pending: (() => void)[] = [];
  let headerFlushes = 0;
  const out = new Writable({
    decodeStrings: false,
    highWaterMark: options.highWaterMark ?? 16_384,
    write(chunk: string, _enc, done) {
      writes.push(chunk);
      if (options.hold) pending.push(() => done());
      else done();
    },
  });
  Object.assign(out, { flushHeaders: () => headerFlushes++ });
  return {
    out,
    writes,
    headerFlushes: () => headerFlushes,
    release: () => {
      for (const done of pending.splice(0)) done();
    },
  };
}

describe('EventSink', () => {
  it('writes the events of one turn, promise jobs included, in one write and in order', async () => {
    const r = recorder();
    const sink = new EventSink(r.out);
    sink.push('a');
    await Promise.resolve();
    sink.push('b');
    await Promise.resolve().then(() => sink.push('c'));
    expect(r.writes).toEqual([]);
    await turn();
    expect(r.writes).toEqual(['abc']);
    sink.push('d');
    await turn();
    sink.push('e');
    await turn();
    expect(r.writes).toEqual(['abc', 'd', 'e']);
  });

  it('sends the headers alone at the end of the first turn only when no event is ready then', async () => {
    const slow = recorder();
    new EventSink(slow.out);
    await turn();
    expect(slow.headerFlushes()).toBe(1);
    expect(slow.writes).toEqual([]);

    const ready = recorder();
    const sink = new EventSink(ready.out);
    sink.push('first');
    await turn();
    expect(ready.headerFlushes()).toBe(0); // they leave with the first write
    expect(ready.writes).toEqual(['first']);
  });

  it('ends with what is queued and the last event in one write, and writes nothing after', async () => {
    const r = recorder();
    const sink = new EventSink(r.out);
    await turn();
    sink.push('x');
    sink.push('y');
    sink.end('[DONE]');
    await turn();
    expect(r.writes).toEqual(['xy[DONE]']);
    expect(r.out.writableEnded).toBe(true);
    expect(() => sink.push('z')).toThrow(/push after end/);
    sink.end('again');
    expect(r.writes).toEqual(['xy[DONE]']);
  });

  it('reports a full socket as a promise that settles on drain, then clears it', async () => {
    const r = recorder({ highWaterMark: 4, hold: true });
    const sink = new EventSink(r.out);
    sink.push('0123456789');
    expect(sink.blocked).toBeUndefined(); // not written yet
    await turn();
    const blocked = sink.blocked;
    expect(blocked).toBeInstanceOf(Promise);
    let settled = false;
    void blocked?.then(() => (settled = true));
    await turn();
    expect(settled).toBe(false);
    r.release();
    await blocked;
    expect(settled).toBe(true);
    expect(sink.blocked).toBeUndefined();
  });

  it('settles a wait for drain when the connection closes instead, and writes nothing to it after', async () => {
    const r = recorder({ highWaterMark: 4, hold: true });
    const sink = new EventSink(r.out);
    sink.push('0123456789');
    await turn();
    const blocked = sink.blocked;
    expect(blocked).toBeInstanceOf(Promise);
    r.out.destroy();
    await blocked;
    sink.push('late');
    await turn();
    sink.end('[DONE]');
    expect(r.writes).toEqual(['0123456789']);
  });
});
