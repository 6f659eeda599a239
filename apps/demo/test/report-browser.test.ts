import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/run-demo';

const dir = mkdtempSync(join(tmpdir(), 'rel-report-'));
// Chromium may still be writing its profile for a moment after it closes.
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
/**
 * Running the demo and starting a browser takes ~6 s alone, and several times that when CI runs
 * every package's tests at once on two cores: a limit for hangs, not a speed check.
 */
const BROWSER_TEST_TIMEOUT_MS = 90_000;

describe('the HTML report', () => {
  it(
    'renders its three charts offline in headless Chromium, with no console error and no request out',
    async () => {
      const { reportPath } = await runDemo({
        scenario: 'outage',
        requests: 60,
        seed: 3,
        out: join(dir, 'report.html'),
        progress: false,
        env: {},
      });
      const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--disable-quic',
        ],
      });
      try {
        const page = await context.newPage();
        const problems: string[] = [];
        const requested: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push(e.message));
        page.on('request', (r) => requested.push(r.url()));
        await page.goto(pathToFileURL(reportPath).href);
        const charts = await page.$$eval('svg[data-chart]', (svgs) =>
          svgs.map((svg) => {
            const shapes = [...svg.querySelectorAll('path, rect, circle, line')].filter((el) => {
              const box = (el as unknown as { getBBox(): { width: number; height: number } }).getBBox();
              return box.width > 0 || box.height > 0;
            });
            const sized = [...svg.querySelectorAll('rect.bar, path.series')].filter((el) => {
              const r = el.getBoundingClientRect();
              return r.width > 0 && r.height > 0;
            });
            return { name: svg.getAttribute('data-chart'), shapes: shapes.length, sized: sized.length };
          }),
        );
        expect(charts.map((c) => c.name)).toEqual(['latency', 'routes', 'cost']);
        for (const chart of charts) {
          expect(chart.shapes, chart.name ?? '').toBeGreaterThan(3);
          expect(chart.sized, chart.name ?? '').toBeGreaterThan(0);
        }
        expect(await page.locator('svg[data-chart="latency"] rect.incident').count()).toBe(1);
        expect(problems).toEqual([]);
        expect(requested.filter((u) => !u.startsWith('file:'))).toEqual([]);
      } finally {
        await context.close();
      }
    },
    BROWSER_TEST_TIMEOUT_MS,
  );
});
