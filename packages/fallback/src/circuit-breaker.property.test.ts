import { EventHub, MemoryStore, type StateStore } from '@rel/core';
import { FakeClock } from '@rel/core/testing';
import { RedisStore } from '@rel/redis';
import { type RedisServerHandle, startRedisServer } from '@rel/redis/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admission, type CallOutcome, CircuitBreaker } from './circuit-breaker';

let redis: RedisServerHandle;
let runs = 0;
/** Every transition any run made, so a suite can prove it exercised the whole machine. */
const seenTransitions = new Set<string>();
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

type Command =
  | { op: 'enter' }
  | { op: 'finish'; pick: number; outcome: CallOutcome; durationMs: number }
  | { op: 'advance'; ms: number }
  | { op: 'manual'; action: 'forceOpen' | 'forceClose' | 'reset' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Command>({ op: 'enter' }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('finish' as const),
      pick: fc.nat(),
      outcome: fc.constantFrom<CallOutcome>('success', 'failure', 'failure', 'ignored'),
      durationMs: fc.integer({ min: 0, max: 2_000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4_000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('manual' as const),
      action: fc.constantFrom('forceOpen' as const, 'forceClose' as const, 'reset' as const),
    }),
  },
);

const options = fc.record({
  consecutiveFailures: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  failureRate: fc.option(
    fc.record({
      threshold: fc.double({ min: 0.1, max: 1, noNaN: true }),
      windowMs: fc.integer({ min: 1_000, max: 20_000 }),
      minimumCalls: fc.integer({ min: 1, max: 5 }),
    }),
    { nil: undefined },
  ),
  slowCallRate: fc.option(
    fc.record({
      threshold: fc.double({ min: 0.1, max: 1, noNaN: true }),
      slowCallMs: fc.integer({ min: 100, max: 1_500 }),
      windowMs: fc.integer({ min: 1_000, max: 20_000 }),
      minimumCalls: fc.integer({ min: 1, max: 5 }),
    }),
    { nil: undefined },
  ),
  openMs: fc.integer({ min: 0, max: 3_000 }),
  maxProbes: fc.integer({ min: 1, max: 3 }),
  probeTimeoutMs: fc.integer({ min: 1, max: 10_000 }),
});

/**
 * At least 20 steps: with fast-check's short default arrays, a run rarely tripped the breaker and
 * waited out `openMs`, so half-open (the state these properties are about) was barely reached.
 */
const commands = fc.array(command, { minLength: 20, maxLength: 80 });

type Opts = typeof options extends fc.Arbitrary<infer T> ? T : never;

const AUTOMATIC = new Set(['closed->open', 'open->half_open', 'half_open->closed', 'half_open->open']);
const MANUAL = new Set(['forced_open', 'forced_closed', 'reset']);

type MakeStore = (clock: FakeClock) => StateStore;

async function run(makeStore: MakeStore | undefined, opts: Opts, commands: Command[]) {
  const clock = new FakeClock(0);
  const events = new EventHub();
  const store = makeStore?.(clock);
  try {
    await check(clock, events, store, opts, commands);
  } finally {
    await store?.close();
  }
}

async function check(
  clock: FakeClock,
  events: EventHub,
  store: StateStore | undefined,
  opts: Opts,
  commands: Command[],
) {
  const { maxProbes, probeTimeoutMs, ...rest } = opts;
  const breaker = new CircuitBreaker({
    ...rest,
    halfOpen: { maxProbes, probeTimeoutMs },
    name: 't',
    clock,
    events,
    ...(store ? { store } : {}),
  });
  const transitions: { from: string; to: string; reason: string }[] = [];
  let halfOpenProbes = 0;
  events.on('breaker-state', (e) => {
    transitions.push(e);
    seenTransitions.add(`${e.from}->${e.to}`);
    halfOpenProbes = 0;
  });
  const inflight: Admission[] = [];
  for (const c of commands) {
    if (c.op === 'enter') {
      const before = breaker.state;
      const a = await breaker.enter();
      if (a === 'pass') expect(breaker.state).toBe('closed');
      if (a === 'probe') {
        expect(breaker.state).toBe('half_open');
        halfOpenProbes++;
        // Probes are bounded: never more than maxProbes counted in one half-open period.
        expect(halfOpenProbes).toBeLessThanOrEqual(maxProbes);
      }
      if (a === 'reject') expect(['open', 'half_open']).toContain(breaker.state);
      if (before === 'closed') expect(a).toBe('pass');
      if (a !== 'reject') inflight.push(a);
    } else if (c.op === 'finish' && inflight.length > 0) {
      const [a] = inflight.splice(c.pick % inflight.length, 1);
      const stateBefore = breaker.state;
      await breaker.record(a!, c.outcome, c.durationMs);
      if (a === 'probe' && c.outcome === 'ignored' && stateBefore === 'half_open' && breaker.state === 'half_open')
        halfOpenProbes--;
    } else if (c.op === 'advance') await clock.advance(c.ms);
    else if (c.op === 'manual') await breaker[c.action]();
  }
  for (const t of transitions) {
    if (MANUAL.has(t.reason)) continue;
    // No automatic transition skips half-open: open never goes straight to closed, closed never to half-open.
    expect(AUTOMATIC.has(`${t.from}->${t.to}`)).toBe(true);
  }
  for (let i = 1; i < transitions.length; i++) expect(transitions[i]!.from).toBe(transitions[i - 1]!.to);
}

describe('CircuitBreaker state machine (property)', () => {
  it('in memory: never skips half-open, bounds probes, chains transitions', async () => {
    await fc.assert(
      fc.asyncProperty(options, commands, (o, cmds) => run(undefined, o, cmds)),
      { numRuns: 500 },
    );
  });

  it('through a shared MemoryStore: the same invariants hold', async () => {
    const memory: MakeStore = (clock) => new MemoryStore({ clock });
    await fc.assert(
      fc.asyncProperty(options, commands, (o, cmds) => run(memory, o, cmds)),
      { numRuns: 400 },
    );
  });

  it('through a real Redis (RedisStore): the same invariants hold', async () => {
    seenTransitions.clear();
    const onRedis: MakeStore = (clock) => new RedisStore({ url: redis.url, keyPrefix: `p${++runs}:`, clock });
    await fc.assert(
      fc.asyncProperty(options, commands, (o, cmds) => run(onRedis, o, cmds)),
      { numRuns: 150 },
    );
    // Not vacuous: the runs drove the shared breaker around its cycle (closing is proven apart).
    for (const t of ['closed->open', 'open->half_open', 'half_open->open']) expect(seenTransitions).toContain(t);
  });

  it('only a successful probe closes an open breaker', async () => {
    await fc.assert(
      fc.asyncProperty(options, commands, async (o, cmds) => {
        const clock = new FakeClock(0);
        const events = new EventHub();
        const breaker = new CircuitBreaker({ consecutiveFailures: 1, openMs: o.openMs, clock, events });
        const closes: string[] = [];
        events.on('breaker-state', (e) => {
          if (e.to === 'closed') closes.push(`${e.from}:${e.reason}`);
        });
        for (const c of cmds) {
          if (c.op === 'enter') {
            const a = breaker.enter() as Admission;
            if (a !== 'reject') breaker.record(a, c === cmds[0] ? 'failure' : 'success', 1);
          } else if (c.op === 'advance') await clock.advance(c.ms);
          else if (c.op === 'finish') {
            const a = breaker.enter() as Admission;
            if (a !== 'reject') breaker.record(a, c.outcome, c.durationMs);
          }
        }
        for (const c of closes) expect(c).toBe('half_open:probes_succeeded');
      }),
      { numRuns: 200 },
    );
  });
});
