import { describe, expect, it } from 'vitest';
import { progressReporter } from './progress';

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 80, write: (s: string) => chunks.push(s) } };
}

describe('progressReporter', () => {
  it('redraws one bar in place on a terminal and ends the line when done', () => {
    const { chunks, stream } = sink(true);
    const p = progressReporter(stream, 'run');
    for (let i = 1; i <= 4; i++) p.update(i, 4);
    p.done();
    expect(chunks).toHaveLength(5);
    expect(chunks[0]).toMatch(/^\rrun \[#+-+\] 1\/4 25%$/);
    expect(chunks[3]).toMatch(/^\rrun \[#+\] 4\/4 100%$/);
    expect(chunks[4]).toBe('\n');
  });

  it('prints about ten plain lines anywhere else, never a carriage return', () => {
    const { chunks, stream } = sink(false);
    const p = progressReporter(stream, 'run');
    for (let i = 1; i <= 95; i++) p.update(i, 95);
    p.done();
    expect(chunks.length).toBeGreaterThanOrEqual(9);
    expect(chunks.length).toBeLessThanOrEqual(11);
    expect(chunks.join('')).not.toMatch(/[\r\u001b]/);
    expect(chunks.at(-1)).toBe('run: 95/95 runs done\n');
  });
});
