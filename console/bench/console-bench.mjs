// The page side of `vigie bench console`: opens the console in Debian's Chromium (headless,
// software rendering), reads the time to the first usable screen, then prints `measuring`
// and records requestAnimationFrame deltas while the hub sends live incident updates.
// Prints one JSON line: first_screen_ms, dom_content_loaded_ms, frames_ms, queue_items,
// updates_seen, browser.
//
//   node console/bench/console-bench.mjs --url http://127.0.0.1:PORT/ [--seconds 10] [--incidents N]
import { chromium } from 'playwright-core';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const url = args.url;
if (!url) {
  console.error('usage: console-bench.mjs --url URL [--seconds S] [--incidents N]');
  process.exit(2);
}
const seconds = Number(args.seconds ?? 10);
const incidents = Number(args.incidents ?? 1);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const context = await browser.newContext({
    viewport: { width: 1600, height: 1000 },
    locale: 'fr-FR',
    // BENCH_REDUCED_MOTION=1: as a browser that asks for reduced motion (no pulsing rings).
    reducedMotion: process.env.BENCH_REDUCED_MOTION ? 'reduce' : 'no-preference',
  });
  // The session of the operator the bench signed in (VIGIE_SESSION, set by `vigie bench console`).
  if (process.env.VIGIE_SESSION) {
    await context.addCookies([{ name: 'vigie_session', value: process.env.VIGIE_SESSION, url }]);
  }
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(url);
  // `window.__vigieReady`: performance.now() (from navigation start) once the frame holding
  // the rendered queue and the drawn map has been painted (console/src/main.ts).
  await page.waitForFunction(() => typeof window.__vigieReady === 'number', null, { timeout: 60_000, polling: 50 });
  const first = await page.evaluate(() => ({
    ready: window.__vigieReady,
    dcl: performance.getEntriesByType('navigation')[0]?.domContentLoadedEventEnd ?? NaN,
    items: document.querySelectorAll('#queue-list li[data-id]').length,
    count: Number(document.querySelector('#queue-count')?.textContent ?? 0),
    markers: document.querySelectorAll('.leaflet-overlay-pane path, .leaflet-overlay-pane canvas').length,
    sensors: document.querySelectorAll('.sensor-cluster, .sensor-icon').length,
  }));
  if (first.count < incidents) throw new Error(`the queue counts ${first.count} incidents, expected ${incidents}`);
  if (first.markers === 0 || first.sensors === 0) throw new Error(`the map is not drawn: ${JSON.stringify(first)}`);
  // A second to settle (fonts, the first live-stream reads), then the measured window.
  await page.waitForTimeout(1000);
  await page.evaluate(() => {
    window.__benchUpdates = 0;
    window.__benchEs = new EventSource('/api/v1/stream');
    window.__benchEs.addEventListener('incident', () => window.__benchUpdates++);
  });
  // BENCH_TRACE=file.json: a Chrome trace of the measured window, for profiling.
  if (process.env.BENCH_TRACE) await browser.startTracing(page, { path: process.env.BENCH_TRACE, screenshots: false });
  process.stdout.write('measuring\n');
  const frames = await page.evaluate(
    (ms) =>
      new Promise((done) => {
        const out = [];
        let last = 0;
        const t0 = performance.now();
        const step = (t) => {
          if (last) out.push(t - last);
          last = t;
          if (t - t0 < ms) requestAnimationFrame(step);
          else done(out);
        };
        requestAnimationFrame(step);
      }),
    seconds * 1000,
  );
  if (process.env.BENCH_TRACE) await browser.stopTracing();
  const updatesSeen = await page.evaluate(() => {
    window.__benchEs.close();
    return window.__benchUpdates;
  });
  if (errors.length) throw new Error(`console errors: ${errors.join(' | ')}`);
  process.stdout.write(
    JSON.stringify({
      first_screen_ms: first.ready,
      dom_content_loaded_ms: first.dcl,
      queue_items: first.items,
      queue_count: first.count,
      frames_ms: frames.map((f) => Math.round(f * 100) / 100),
      updates_seen: updatesSeen,
      browser: browser.version(),
    }) + '\n',
  );
} finally {
  await browser.close();
}
