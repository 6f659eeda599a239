/**
 * gateway: requests per second and the latency a gateway adds over calling the upstream directly.
 *
 * Every part in its own process: the upstream (rel's fake provider over HTTP, `gateway-upstream.ts`),
 * each gateway under test, and the load generator (`gateway-load.ts`). Targets:
 * (1) the upstream directly (the baseline), (2) the rel gateway, minimal configuration,
 * (3) the rel gateway, full default composition (both `gateway-rel.ts`), (4) `@portkey-ai/gateway`
 * (`start-server.js --headless`) with `x-portkey-provider: openai` and `x-portkey-custom-host`
 * pointing at the same upstream, (5) a bare `node:http` forwarder (`gateway-node-proxy.ts`), the floor
 * of any Node.js gateway. Two kinds of load, non-streaming then streaming:
 * - closed loop (autocannon) at 1, 10 and 100 connections, each sending its next request as soon
 *   as the previous answer completes: the most a target serves, and at 100 connections its p50 is
 *   about 100 / its throughput (queueing);
 * - open loop: 100 keep-alive connections, requests sent on a fixed schedule at 100, 200 and
 *   400 req/s in total whatever the answers do: the latency at a load the box can carry.
 * Each run is a warm-up then a measured run, the targets in rotation. Latency is the full response
 * (the whole stream); added latency = the gateway's percentile − the direct percentile of the same
 * round and load. A run with any error, timeout or non-2xx answer is reported as invalid; an
 * open-loop run that served under 95% of its rate is marked over capacity.
 *
 * Environment: REL_BENCH_GATEWAY_SECONDS (closed-loop measured seconds, default 3),
 * REL_BENCH_GATEWAY_WARMUP (default 1), REL_BENCH_GATEWAY_CONNECTIONS (closed loop, default
 * "1,10,100"), REL_BENCH_GATEWAY_RATES (open loop, total req/s, default "100,200,400"; empty: no
 * open loop), REL_BENCH_GATEWAY_OPEN_CONNECTIONS (default 100), REL_BENCH_GATEWAY_OPEN_SECONDS
 * (default 4), REL_BENCH_GATEWAY_ROUNDS (default 1; with more, the median of each figure over the
 * rounds), REL_BENCH_GATEWAY_MODES, REL_BENCH_GATEWAY_TARGETS, REL_BENCH_GATEWAY_PROFILE
 * (a directory: the rel gateway processes run with `--cpu-prof` and write their profiles there).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { BENCH_DIR, table } from '../lib/report';
import { median } from '../lib/measure';
import type { LoadJob, LoadResult } from './gateway-load';

const HERE = resolve(BENCH_DIR, 'src/benchmarks');
const REGISTER = resolve(BENCH_DIR, 'src/lib/ts-register.mjs');
const PORTKEY = resolve(BENCH_DIR, 'node_modules/@portkey-ai/gateway/build/start-server.js');
const PORTKEY_FIX = resolve(HERE, 'gateway-portkey-fix.mjs');
/** How rel's TypeScript children run: sources through the esbuild loader, as the built packages. */
const TS_ARGV = ['--conditions=@rel/source', '--import', REGISTER];
const REL_KEY = 'sk-rel-bench-0123456789';

const SECONDS = Number(process.env.REL_BENCH_GATEWAY_SECONDS ?? 3);
const WARMUP = Number(process.env.REL_BENCH_GATEWAY_WARMUP ?? 1);
const numbers = (list: string) => list.split(',').filter(Boolean).map(Number);
const CONNECTIONS = numbers(process.env.REL_BENCH_GATEWAY_CONNECTIONS ?? '1,10,100');
const RATES = numbers(process.env.REL_BENCH_GATEWAY_RATES ?? '100,200,400');
const OPEN_CONNECTIONS = Number(process.env.REL_BENCH_GATEWAY_OPEN_CONNECTIONS ?? 100);
const OPEN_SECONDS = Number(process.env.REL_BENCH_GATEWAY_OPEN_SECONDS ?? 4);
const ROUNDS = Number(process.env.REL_BENCH_GATEWAY_ROUNDS ?? 1);
const PROFILE_DIR = process.env.REL_BENCH_GATEWAY_PROFILE;
const MODES = (process.env.REL_BENCH_GATEWAY_MODES ?? 'json,stream').split(',') as ('json' | 'stream')[];

type TargetName = 'direct' | 'node proxy' | 'rel minimal' | 'rel full' | 'portkey';
const ALL_TARGETS: readonly TargetName[] = ['direct', 'node proxy', 'rel minimal', 'rel full', 'portkey'];
const TARGETS = process.env.REL_BENCH_GATEWAY_TARGETS
  ? ALL_TARGETS.filter((t) => process.env.REL_BENCH_GATEWAY_TARGETS?.split(',').includes(t))
  : ALL_TARGETS;

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** A measured run plus the CPU the gateway and the upstream spent on it, per request. */
interface Run extends LoadResult {
  /** CPU µs per request of the process under test (the upstream itself for `direct`). */
  readonly cpuUsPerReq: number;
  /** CPU µs per request of the upstream. */
  readonly upstreamCpuUsPerReq: number;
}

interface Target {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly model: string;
  readonly pid: number | undefined;
}

/** A system and a user message (~150 characters), no PII and nothing an injection guard flags. */
function body(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant for a hardware store.' },
      { role: 'user', content: 'Which screws should I use to hang a shelf on a plaster wall?' },
    ],
    max_tokens: 256,
    ...(stream ? { stream: true } : {}),
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Forks a TypeScript child that sends `{ port }` over IPC once listening. */
async function forkListening(file: string, args: string[], execArgv: string[] = []): Promise<[ChildProcess, number]> {
  const child = fork(resolve(HERE, file), args, {
    execArgv: [...TS_ARGV, ...execArgv],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`${file} exited with ${code} before listening`);
    }),
  ])) as [{ port: number }];
  return [child, message.port];
}

/** Starts @portkey-ai/gateway on a free port and waits until it answers. */
async function startPortkey(withStreamFix: boolean): Promise<[ChildProcess, number]> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [...(withStreamFix ? ['--import', PORTKEY_FIX] : []), PORTKEY, `--port=${port}`, '--headless'],
    { cwd: BENCH_DIR, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`@portkey-ai/gateway exited with ${child.exitCode}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return [child, port];
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  child.kill('SIGTERM');
  throw new Error('@portkey-ai/gateway did not start within 20 s');
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** One request of each kind through a target: a 200 with a real completion, or a stream ending in [DONE]. */
async function sanity(name: string, t: Target, stream: boolean): Promise<string> {
  const res = await fetch(t.url, { method: 'POST', headers: t.headers, body: body(t.model, stream) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${name}: sanity request answered ${res.status}: ${text.slice(0, 300)}`);
  if (stream) {
    const events = text.split('\n').filter((l) => l.startsWith('data: '));
    if (events.at(-1) !== 'data: [DONE]' || events.length < 5)
      throw new Error(`${name}: the stream did not end with [DONE]: ${text.slice(-300)}`);
    return `${events.length} events, ${text.length} bytes`;
  }
  const json = JSON.parse(text) as { choices?: { message?: { content?: string } }[] };
  if (!json.choices?.[0]?.message?.content) throw new Error(`${name}: no completion in ${text.slice(0, 300)}`);
  return `${text.length} bytes`;
}

class Loader {
  readonly #child = fork(resolve(HERE, 'gateway-load.ts'), [], {
    execArgv: TS_ARGV,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });

  async run(job: LoadJob): Promise<LoadResult> {
    this.#child.send(job);
    const [reply] = (await once(this.#child, 'message')) as [
      { ok: true; result: LoadResult } | { ok: false; error: string },
    ];
    if (!reply.ok) throw new Error(`load generator: ${reply.error}`);
    return reply.result;
  }

  close(): Promise<void> {
    return stop(this.#child);
  }
}

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(2)}` : '–');
const invalid = (r: Run) => r.errors + r.timeouts + r.non2xx > 0;

/** A closed loop at `connections`, or an open loop at `rate` req/s over OPEN_CONNECTIONS. */
type Load =
  | { readonly kind: 'closed'; readonly connections: number }
  | { readonly kind: 'open'; readonly rate: number };
const LOADS: readonly Load[] = [
  ...CONNECTIONS.map((connections) => ({ kind: 'closed' as const, connections })),
  ...RATES.map((rate) => ({ kind: 'open' as const, rate })),
];
const label = (l: Load) => (l.kind === 'closed' ? `c=${l.connections}` : `${l.rate}/s`);
/** An open-loop run that served under 95% of its rate: the target could not keep up. */
const overCapacity = (r: Run, l: Load) => l.kind === 'open' && r.rps < 0.95 * l.rate;

type Mode = 'json' | 'stream';
type Key = `${Mode}/${string}/${TargetName}`;

export async function gatewayBench(): Promise<string> {
  const children: ChildProcess[] = [];
  const loader = new Loader();
  const results = new Map<Key, Run[]>();
  const sanityNotes: string[] = [];
  const loads: string[] = [];
  let portkey: ChildProcess | undefined;
  try {
    const [upstream, upstreamPort] = await forkListening('gateway-upstream.ts', []);
    children.push(upstream);
    const profArgs = (name: string) =>
      // One directory per gateway: every thread writes its own profile (the module-hooks thread too).
      PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE_DIR, `rel-${name}`)}`] : [];
    const [relMin, relMinPort] = await forkListening(
      'gateway-rel.ts',
      ['minimal', String(upstreamPort)],
      profArgs('minimal'),
    );
    children.push(relMin);
    const [relFull, relFullPort] = await forkListening(
      'gateway-rel.ts',
      ['full', String(upstreamPort)],
      profArgs('full'),
    );
    children.push(relFull);
    const [proxy, proxyPort] = TARGETS.includes('node proxy')
      ? await forkListening('gateway-node-proxy.ts', [String(upstreamPort)])
      : [undefined, 0];
    if (proxy) children.push(proxy);

    const json = { 'content-type': 'application/json' };
    const targets = (portkeyPort: number, portkeyPid: number | undefined): Record<TargetName, Target> => ({
      direct: {
        url: `http://127.0.0.1:${upstreamPort}/v1/chat/completions`,
        headers: { ...json, authorization: 'Bearer sk-upstream-unused' },
        model: 'gpt-primary',
        pid: upstream.pid,
      },
      'rel minimal': {
        url: `http://127.0.0.1:${relMinPort}/v1/chat/completions`,
        headers: { ...json, authorization: `Bearer ${REL_KEY}` },
        model: 'chat',
        pid: relMin.pid,
      },
      'rel full': {
        url: `http://127.0.0.1:${relFullPort}/v1/chat/completions`,
        headers: { ...json, authorization: `Bearer ${REL_KEY}` },
        model: 'chat',
        pid: relFull.pid,
      },
      'node proxy': {
        url: `http://127.0.0.1:${proxyPort}/v1/chat/completions`,
        headers: { ...json, authorization: 'Bearer sk-upstream-unused' },
        model: 'gpt-primary',
        pid: proxy?.pid,
      },
      portkey: {
        url: `http://127.0.0.1:${portkeyPort}/v1/chat/completions`,
        headers: {
          ...json,
          authorization: 'Bearer sk-upstream-unused',
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': `http://127.0.0.1:${upstreamPort}/v1`,
        },
        model: 'gpt-primary',
        pid: portkeyPid,
      },
    });

    for (const mode of MODES) {
      const stream = mode === 'stream';
      // Portkey only while it is measured (it listens on every interface); the streaming runs need
      // the workaround in gateway-portkey-fix.mjs (Portkey-AI/gateway#1389).
      const [pk, pkPort] = TARGETS.includes('portkey') ? await startPortkey(stream) : [undefined, 0];
      portkey = pk;
      const t = targets(pkPort, pk?.pid);
      for (const name of TARGETS) sanityNotes.push(`${name} ${mode}: ${await sanity(name, t[name], stream)}`);
      loads.push(`${mode} start ${loadavgNow()}`);
      for (let round = 0; round < ROUNDS; round++) {
        for (const load of LOADS) {
          // Rotate the first target each round so none always runs first.
          for (let k = 0; k < TARGETS.length; k++) {
            const name = TARGETS[(k + round) % TARGETS.length] as TargetName;
            const target = t[name];
            // CPU is read around warm-up + run, and divided by the requests of both (estimated
            // from the measured rate), so it includes what the warm-up cost.
            const cpu0 = cpuSeconds(target.pid);
            const up0 = cpuSeconds(upstream.pid);
            const measured = await loader.run({
              url: target.url,
              headers: target.headers,
              body: body(target.model, stream),
              connections: load.kind === 'closed' ? load.connections : OPEN_CONNECTIONS,
              warmupS: WARMUP,
              durationS: load.kind === 'closed' ? SECONDS : OPEN_SECONDS,
              ...(load.kind === 'open' ? { rate: load.rate } : {}),
            });
            const served = measured.requests + measured.warmupRequests;
            const r: Run = {
              ...measured,
              cpuUsPerReq: ((cpuSeconds(target.pid) - cpu0) * 1e6) / served,
              upstreamCpuUsPerReq: ((cpuSeconds(upstream.pid) - up0) * 1e6) / served,
            };
            const key: Key = `${mode}/${label(load)}/${name}`;
            results.set(key, [...(results.get(key) ?? []), r]);
            console.error(
              `${mode} ${label(load)} ${name}: ${Math.round(r.rps)} req/s p50 ${ms(r.p50)} p95 ${ms(r.p95)} p99 ${ms(r.p99)} ms, CPU ${Math.round(r.cpuUsPerReq)} µs/req${load.kind === 'open' ? `, schedule lag p99 ${ms(r.lagP99)} ms, ${r.newConnections} new connections` : ''}${overCapacity(r, load) ? ' OVER CAPACITY' : ''}${invalid(r) ? ` INVALID ${JSON.stringify(r.statuses)} errors ${r.errors} timeouts ${r.timeouts}` : ''}`,
            );
          }
        }
      }
      loads.push(`${mode} end ${loadavgNow()}`);
      await stop(portkey);
      portkey = undefined;
    }
  } finally {
    await stop(portkey);
    await loader.close();
    for (const c of children.reverse()) await stop(c);
  }
  return report(results, sanityNotes, loads);
}

function loadavgNow(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

/** The median of one figure over the rounds. */
function fig(rs: readonly Run[] | undefined, pick: (r: Run) => number): number {
  return rs && rs.length > 0 ? median(rs.map(pick)) : Number.NaN;
}

const MODE_NAME: Record<Mode, string> = { json: 'non-streaming', stream: 'streaming' };
const OTHERS: readonly TargetName[] = ['rel minimal', 'rel full', 'portkey'];

/** Added p50 of one target at one load, or NaN when either side was not measured. */
function addedP50(results: Map<Key, Run[]>, mode: Mode, load: Load, name: TargetName): number {
  return (
    fig(results.get(`${mode}/${label(load)}/${name}`), (r) => r.p50) -
    fig(results.get(`${mode}/${label(load)}/direct`), (r) => r.p50)
  );
}

/** One table of every target at every load of one kind. */
function loadTable(results: Map<Key, Run[]>, kind: Load['kind']): string {
  const rows: string[][] = [];
  for (const mode of MODES) {
    for (const load of LOADS.filter((l) => l.kind === kind)) {
      const direct = results.get(`${mode}/${label(load)}/direct`);
      const d = (pick: (r: Run) => number) => fig(direct, pick);
      for (const name of TARGETS) {
        const rs = results.get(`${mode}/${label(load)}/${name}`);
        if (!rs) continue;
        const bad = rs.filter(invalid);
        const over = rs.filter((r) => overCapacity(r, load));
        const p = (pick: (r: Run) => number) => fig(rs, pick);
        const isDirect = name === 'direct';
        const checks = [
          bad.length > 0
            ? `INVALID: ${bad.map((r) => `${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors, ${r.timeouts} timeouts`).join('; ')}`
            : `ok (${rs.reduce((a, r) => a + r.requests, 0).toLocaleString('en-US')} req)`,
          ...(over.length > 0 ? ['OVER CAPACITY (served < 95% of the rate)'] : []),
          ...(kind === 'open'
            ? [
                `lag p99 ${ms(p((r) => r.lagP99))} ms`,
                ...(rs.some((r) => r.newConnections > 0)
                  ? [`${rs.reduce((a, r) => a + r.newConnections, 0)} reconnects`]
                  : []),
              ]
            : []),
        ];
        rows.push([
          MODE_NAME[mode],
          kind === 'closed'
            ? String((load as { connections: number }).connections)
            : String((load as { rate: number }).rate),
          name,
          Math.round(p((r) => r.rps)).toLocaleString('en-US'),
          ms(p((r) => r.p50)),
          ms(p((r) => r.p95)),
          ms(p((r) => r.p99)),
          isDirect ? '–' : signed(p((r) => r.p50) - d((r) => r.p50)),
          isDirect ? '–' : signed(p((r) => r.p95) - d((r) => r.p95)),
          isDirect ? '–' : signed(p((r) => r.p99) - d((r) => r.p99)),
          Math.round(p((r) => r.cpuUsPerReq)).toLocaleString('en-US'),
          checks.join(', '),
        ]);
      }
    }
  }
  return table(
    [
      'mode',
      kind === 'closed' ? 'connections' : 'rate req/s',
      'target',
      kind === 'closed' ? 'req/s' : 'served req/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'added p50',
      'added p95',
      'added p99',
      'CPU µs/req',
      'check',
    ],
    rows,
  );
}

/** Whether one target's added p50 at one load meets the goal (< 1 ms, valid, within capacity). */
function verdict(results: Map<Key, Run[]>, mode: Mode, load: Load, name: TargetName): string {
  const rs = results.get(`${mode}/${label(load)}/${name}`);
  const direct = results.get(`${mode}/${label(load)}/direct`);
  if (!rs || !direct) return 'not measured';
  const added = addedP50(results, mode, load, name);
  const bad = [...rs, ...direct].some(invalid);
  const over = rs.some((r) => overCapacity(r, load));
  const met = !bad && !over && added < 1;
  return `${signed(added)} ms ${met ? 'met' : 'NOT met'}${bad ? ' (run INVALID)' : ''}${over ? ' (over capacity)' : ''}`;
}

function report(results: Map<Key, Run[]>, sanityNotes: string[], loads: string[]): string {
  const closed100 = LOADS.find((l) => l.kind === 'closed' && l.connections === 100);
  const opens = LOADS.filter((l) => l.kind === 'open');
  const goal: string[] = [
    'Goal (issue 12): the gateway adds under 1 ms at p50 with 100 concurrent connections on this 2-core machine.',
  ];
  for (const mode of MODES) {
    const parts: string[] = [];
    for (const name of OTHERS.filter((n) => TARGETS.includes(n))) {
      const cells: string[] = [];
      if (closed100) cells.push(`closed loop ${verdict(results, mode, closed100, name)}`);
      const open = opens.map((o) => verdict(results, mode, o, name));
      opens.forEach((o, i) => {
        cells.push(`${label(o)} ${open[i]}`);
      });
      const met = open.filter((v) => / met($| )/.test(v) && !v.includes('NOT met')).length;
      if (opens.length > 0)
        cells.push(
          `open loop met at ${met} of ${opens.length} rates (median added ${signed(median(opens.map((o) => addedP50(results, mode, o, name))))} ms)`,
        );
      parts.push(`${name}: ${cells.join('; ')}`);
    }
    goal.push(`- ${MODE_NAME[mode]}, added p50 at 100 connections — ${parts.join(' | ')}.`);
    if (TARGETS.includes('node proxy') && opens.length > 0) {
      // What the gateways add over the floor: one Node.js hop with no policy.
      const over = OTHERS.filter((n) => TARGETS.includes(n)).map(
        (name) =>
          `${name} ${opens.map((o) => `${label(o)} ${signed(fig(results.get(`${mode}/${label(o)}/${name}`), (r) => r.p50) - fig(results.get(`${mode}/${label(o)}/node proxy`), (r) => r.p50))}`).join(', ')} ms`,
      );
      goal.push(
        `- ${MODE_NAME[mode]}, the hop itself (node proxy, added p50 over direct): ${opens.map((o) => `${label(o)} ${signed(addedP50(results, mode, o, 'node proxy'))}`).join(', ')} ms; p50 over the node proxy — ${over.join(' | ')}.`,
      );
    }
  }
  if (closed100) {
    const relMin = results.get(`json/${label(closed100)}/rel minimal`);
    const rps = fig(relMin, (r) => r.rps);
    goal.push(
      `- Closed loop misses it for every gateway by construction: 100 connections each sending again at once keep every target saturated, so latency is queueing behind the other requests, not the cost of one (Little's law: mean latency = 100 / throughput; rel minimal non-streaming: 100 / ${Math.round(rps)} req/s = ${ms((100 / rps) * 1000)} ms, measured mean ${ms(fig(relMin, (r) => r.mean))} ms). The open loop keeps the 100 connections but sends at a rate the machine can carry, so its added p50 is the gateway's own time per request plus the contention of one more busy process on 2 cores.`,
    );
  }
  const cpuRows = ['node proxy' as TargetName, ...OTHERS, 'direct' as TargetName]
    .filter((n) => TARGETS.includes(n))
    .map((name) => [
      name === 'direct' ? 'direct (the upstream)' : name,
      ...MODES.flatMap((mode) => {
        const runs = LOADS.flatMap((l) => results.get(`${mode}/${label(l)}/${name}`) ?? []);
        return [
          Math.round(median(runs.map((r) => r.cpuUsPerReq))).toLocaleString('en-US'),
          name === 'direct' ? '–' : Math.round(median(runs.map((r) => r.upstreamCpuUsPerReq))).toLocaleString('en-US'),
        ];
      }),
    ]);
  return [
    goal.join('\n'),
    '',
    `Open loop: ${OPEN_CONNECTIONS} keep-alive connections, requests sent on a fixed schedule (total rate, round-robin over the connections):`,
    '',
    opens.length > 0 ? loadTable(results, 'open') : '(not run)',
    '',
    'Closed loop (autocannon, one request in flight per connection, sent again as soon as it completes):',
    '',
    CONNECTIONS.length > 0 ? loadTable(results, 'closed') : '(not run)',
    '',
    'CPU µs per request, median over every load of the mode (the steady figure on a shared machine):',
    '',
    table(
      ['target', ...MODES.flatMap((m) => [`${MODE_NAME[m]}: process`, `${MODE_NAME[m]}: upstream behind it`])],
      cpuRows,
    ),
    '',
    `Method: each part in its own process on 127.0.0.1 — the upstream (rel's fake provider, 24-token answers, no latency configured), each gateway, a bare \`node:http\` forwarder (\`node proxy\`: the body POSTed upstream on a keep-alive agent, the answer piped back, no policy; the floor of any Node.js gateway), and the load generator. Closed loop: autocannon 8 (programmatic API, keep-alive, one request in flight per connection), ${WARMUP} s warm-up then ${SECONDS} s measured. Open loop: a \`node:http\` client in the load generator process, ${OPEN_CONNECTIONS} keep-alive connections (one Agent with one socket each, all opened during the warm-up; \`reconnects\` would show any opened during the measured run), requests handed out on a fixed schedule (one every 1/rate s, round-robin over the connections, whether or not earlier answers have come back; a request whose connection is still busy waits there and the wait counts), ${WARMUP} s warm-up (at least one request per connection) then ${OPEN_SECONDS} s measured; \`lag p99\` is how late the schedule ran in the load generator (not counted in the latency). autocannon's \`overallRate\`/\`connectionRate\` are not used: each connection sends back to back until its quota for the second is used, and all connections' quotas reset together each second, so 100 req/s over 100 connections arrive as one burst of 100 per second. The targets in rotation, ${ROUNDS} round(s)${ROUNDS > 1 ? ', median over rounds' : ''}. Latency = request sent to response complete (the whole stream when streaming), every response recorded as a float; added = target percentile − direct percentile at the same load. A run with any error, timeout or non-2xx is INVALID; an open-loop run that served under 95% of its rate is OVER CAPACITY (its queue grew during the run). Body: a system and a user message (~110 characters), \`max_tokens\` 256, \`stream: true\` for streaming.`,
    'rel minimal: one alias, one route; injection, PII and output guardrails off; a tier with no limits (the budget middleware has nothing to check); no JSON request log, no Prometheus; default retry, breaker, retry budget and timeouts. rel full: the composition of `apps/gateway/gateway.example.yaml` (two routes, injection `block`, PII `tokenize`, output deny list + canary, caps, tier limits raised so nothing is refused, budget with prices, JSON request log to an ignored stdout, Prometheus). Both run from TypeScript sources through the esbuild loader (as the built packages).',
    '`@portkey-ai/gateway` 1.15.2 (`start-server.js --headless`, routed with `x-portkey-provider: openai` + `x-portkey-custom-host`); for streaming it runs with `src/benchmarks/gateway-portkey-fix.mjs` preloaded: as installed (with @hono/node-server 1.19) it answers every streamed request 500 `TypeError: immutable` (Portkey-AI/gateway#1389), and the preload hands it upstream responses with mutable headers (one Response copy per request). Portkey is started only for its phase and stopped after it (it listens on every interface).',
    'CPU µs/req: user + system CPU of the process under test (the upstream itself for `direct`) over warm-up + run, from /proc (10 ms ticks), divided by the responses; on a shared machine it is steadier than latency, which is mostly waiting for a core. At low open-loop rates it includes the idle cost of timers and GC spread over fewer requests.',
    'The load generator, the gateway and the upstream share the 2 cores, so through a gateway three busy processes compete where the direct baseline has two; added latency includes that contention, as it would on a one-box deployment.',
    `Load average (1/5/15 min): ${loads.join('; ')}.`,
    `Sanity (one request per target and mode before the runs): ${sanityNotes.join('; ')}.`,
  ].join('\n');
}
