import { describe, expect, it } from 'vitest';
import { HELP, parseDemoArgs } from '../src/cli';

describe('demo flags', () => {
  it('defaults to the whole day with seed 7, and passes through the `--` that `pnpm demo -- ...` adds', () => {
    expect(parseDemoArgs([])).toEqual({ help: false, scenario: 'day', requests: undefined, seed: 7, out: undefined });
    expect(parseDemoArgs(['--', '--scenario', 'outage', '--requests', '50', '--seed', '3', '--out', 'r.html'])).toEqual(
      {
        help: false,
        scenario: 'outage',
        requests: 50,
        seed: 3,
        out: 'r.html',
      },
    );
  });

  it('names the bad flag', () => {
    expect(() => parseDemoArgs(['--scenario', 'fire'])).toThrow(
      /--scenario: expected one of outage, latency, malformed, policy/,
    );
    expect(() => parseDemoArgs(['--requests', '2.5'])).toThrow(/--requests/);
    expect(() => parseDemoArgs(['--seed', '-1'])).toThrow(/--seed/);
    expect(() => parseDemoArgs(['--nope'])).toThrow(/nope/);
  });

  it('explains every flag in --help', () => {
    expect(parseDemoArgs(['--help']).help).toBe(true);
    for (const flag of [
      '--scenario',
      '--requests',
      '--seed',
      '--out',
      '--help',
      'outage',
      'latency',
      'malformed',
      'policy',
    ])
      expect(HELP).toContain(flag);
  });
});
