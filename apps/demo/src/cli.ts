import { parseArgs } from 'node:util';

/** The incident drills `--scenario` can run alone. */
export const DRILL_NAMES = ['outage', 'latency', 'malformed', 'policy'] as const;
export type DrillName = (typeof DRILL_NAMES)[number];

/** What the command line asked for. */
export interface DemoArgs {
  readonly help: boolean;
  /** `day` (the default: the whole scripted day) or one drill. */
  readonly scenario: 'day' | DrillName;
  /** Requests to send; default 600 for the day, each drill has its own. */
  readonly requests: number | undefined;
  readonly seed: number;
  /** Where the HTML report goes; default `out/report-<timestamp>.html` under apps/demo. */
  readonly out: string | undefined;
}

/** The `--help` text. */
export const HELP = `rel demo: a scripted day of LLM traffic through the rel gateway, on a fake provider.

usage: pnpm demo [-- options]            (from the repository root)
       pnpm --filter @rel/demo start [options]

options:
  --scenario NAME  run one incident drill alone instead of the whole day:
                     outage     the primary model goes down; breaker opens, backup serves,
                                a non-critical feature is degraded, recovery after
                     latency    the primary gets slow; timeouts, fallback, duration p95 shift
                     malformed  structured output breaks; re-asks repair it or it fails typed
                     policy     prompt injection is blocked, PII is tokenized
  --requests N     how many requests to send (default: 500 for the day, 90-120 per drill)
  --seed S         seed of the traffic (orgs, features, faults); same seed, same day (default 7)
  --out PATH       where to write the HTML report (default apps/demo/out/report-<time>.html)
  --help           show this text

Everything runs in one process on 127.0.0.1: nothing leaves the machine. Set
OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER / OTEL_LOGS_EXPORTER to console or otlp (with
OTEL_EXPORTER_OTLP_ENDPOINT) to also export the telemetry.
`;

/**
 * Parses the demo's flags. A leading `--` (what \`pnpm demo -- --flag\` passes on) is ignored.
 * @throws Error naming the flag when a value is bad or a flag is unknown.
 * @example parseDemoArgs(['--scenario', 'outage', '--seed', '3']).scenario // 'outage'
 */
export function parseDemoArgs(argv: readonly string[]): DemoArgs {
  const args = argv.filter((a) => a !== '--');
  const { values } = parseArgs({
    args,
    options: {
      scenario: { type: 'string' },
      requests: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const scenario = values.scenario ?? 'day';
  if (scenario !== 'day' && !(DRILL_NAMES as readonly string[]).includes(scenario)) {
    throw new Error(`--scenario: expected one of ${DRILL_NAMES.join(', ')}, got "${scenario}"`);
  }
  return {
    help: values.help === true,
    scenario: scenario as DemoArgs['scenario'],
    requests: values.requests === undefined ? undefined : integer('--requests', values.requests, 10, 100_000),
    seed: values.seed === undefined ? 7 : integer('--seed', values.seed, 0, 2 ** 31 - 1),
    out: values.out,
  };
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${flag}: expected an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}
