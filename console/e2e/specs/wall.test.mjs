// End to end: the video wall. A real hub (`vigie up --demo`), a live test camera
// (`vigie record test-camera`), a recorder (`vigie record run`) that burns one privacy mask
// in and publishes the live view with a device token made through the admin API; Chromium
// plays the tile with Media Source Extensions, and the pixels under the mask are read back.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../hub.mjs';
import { deviceToken, recordTestCamera, tearDown } from '../recorder.mjs';
import { axe, launch, openPage, shot, signInThroughPage, until } from '../pages/console.mjs';

// The mask, in relative coordinates (a rectangle on the right); the test camera's time code
// (top left) and its moving bar stay visible elsewhere. The recorder fills it with black
// (crates/vigie-record/src/mask/burn.rs: `drawbox … color=black`).
const MASK = { x0: 0.55, y0: 0.15, x1: 0.9, y1: 0.6 };
const MASK_RGB = [0, 0, 0];
const LAYOUT = 'Mur e2e';

let hub;
let browser;
let page;
let context;
let errors;
let cam;
let dir;
const children = [];

async function liveOf(id) {
  return (await hub.get('/api/v1/live')).find((c) => c.camera === id);
}

/** Samples the tile's video: plays, size, and the pixels under and beside the mask. */
async function sampleTile(tile) {
  return page.evaluate(
    async ({ sel, m }) => {
      const v = document.querySelector(sel);
      const t0 = v.currentTime;
      await new Promise((r) => setTimeout(r, 1500));
      const w = v.videoWidth;
      const h = v.videoHeight;
      const c = document.createElement('canvas');
      c.width = w;
      c.height = h;
      const g = c.getContext('2d', { willReadFrequently: true });
      g.drawImage(v, 0, 0, w, h);
      const stats = (x0, y0, x1, y1) => {
        const d = g.getImageData(Math.round(x0 * w), Math.round(y0 * h), Math.round((x1 - x0) * w), Math.round((y1 - y0) * h)).data;
        const min = [255, 255, 255];
        const max = [0, 0, 0];
        for (let i = 0; i < d.length; i += 4) {
          for (let k = 0; k < 3; k++) {
            min[k] = Math.min(min[k], d[i + k]);
            max[k] = Math.max(max[k], d[i + k]);
          }
        }
        return { min, max, pixels: d.length / 4 };
      };
      // Inside the polygon, a pixel's margin in: every one must be the mask colour.
      const e = 2 / Math.max(1, Math.min(w, h));
      const masked = stats(m.x0 + e, m.y0 + e, m.x1 - e, m.y1 - e);
      // Below the time code, left of the mask: the camera's picture.
      const open = stats(0.05, 0.65, 0.45, 0.95);
      return { t0, t1: v.currentTime, w, h, paused: v.paused, masked, open };
    },
    { sel: `${tile} video`, m: MASK },
  );
}

before(async () => {
  hub = await startHub();
  const sensors = await hub.get('/api/v1/sensors');
  cam = sensors.find((s) => s.type === 'camera');
  assert.ok(cam, 'the demo has a camera');

  // A device token for that camera only, made by the administrator through the API.
  const token = await deviceToken(hub, cam.id);
  assert.match(token, /^vgt_/);

  dir = mkdtempSync(join(tmpdir(), 'vigie-wall-'));
  const rec = await recordTestCamera(children, { hub, cameraId: cam.id, token, dir, mask: MASK });
  await until(
    async () => {
      if (rec.exitCode !== null) throw new Error(`recorder exited ${rec.exitCode}: ${rec.log.join('')}`);
      const l = await liveOf(cam.id);
      return l?.publishing && l.mime;
    },
    { timeout: 30_000, every: 250, what: `${cam.id} publishing` },
  );

  browser = await launch();
  ({ page, errors, context } = await openPage(browser, `${hub.base}/`));
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
});

after(() => tearDown({ browser, children, hub, dir }));

test('the wall plays a masked camera live: video advances, the mask region is uniformly the mask colour', async (t) => {
  await page.click('#tab-wall');
  await page.waitForSelector('#view-wall:not([hidden]) #wall-grid .tile');
  assert.equal(await page.locator('#tab-wall').getAttribute('aria-current'), 'page');
  assert.equal(await page.locator('#wall-grid .tile').count(), 4, 'a 2×2 grid by default');
  // The camera list marks the live one.
  const opt = page.locator(`#wall-grid .tile[data-tile="0"] select option[value="${cam.id}"]`);
  await until(async () => (await opt.innerText()).includes('en direct'), { timeout: 10_000, what: 'the camera marked live' });
  assert.ok(await page.evaluate((m) => MediaSource.isTypeSupported(m), (await liveOf(cam.id)).mime), 'Chromium plays this MIME type');

  await page.selectOption('#wall-grid .tile[data-tile="0"] select', cam.id);
  const tile = `#wall-grid .tile[data-tile="0"][data-camera="${cam.id}"]`;
  await page.waitForSelector(`${tile}[data-state="playing"]`, { timeout: 20_000 });
  assert.equal(await page.locator(`${tile} .badge-masked`).innerText(), 'masqué');
  assert.match(await page.locator(`${tile} .tile-name`).innerText(), new RegExp(cam.name ?? cam.id));
  await until(async () => (await liveOf(cam.id)).viewers === 1, { what: 'one viewer on the hub' });

  const s = await sampleTile(tile);
  assert.ok(s.w > 0 && s.h > 0, `videoWidth ${s.w} × ${s.h}`);
  assert.ok(s.t1 > s.t0 + 0.5, `currentTime advances (${s.t0} → ${s.t1})`);
  for (let k = 0; k < 3; k++) {
    assert.ok(
      s.masked.min[k] >= MASK_RGB[k] && s.masked.max[k] <= MASK_RGB[k] + 1,
      `every pixel under the mask is the mask colour (channel ${k}: ${s.masked.min[k]}..${s.masked.max[k]} over ${s.masked.pixels} px)`,
    );
  }
  const spread = Math.max(...s.open.max.map((x, k) => x - s.open.min[k]));
  assert.ok(spread > 40 && Math.max(...s.open.max) > 60, `the unmasked region shows the picture (${JSON.stringify(s.open)})`);
  // Low latency. MSE (the hub's CSP allows `media-src blob:`): the playhead stays near the
  // end of what is buffered. WebCodecs (a stricter policy): the picture drawn is that of the
  // last keyframe's clock.
  const playback = await page.locator(`${tile} video`).getAttribute('data-playback');
  t.diagnostic(`playback: ${playback}; under the mask ${JSON.stringify(s.masked)}; beside it ${JSON.stringify(s.open)}`);
  assert.ok(['mse', 'webcodecs'].includes(playback), `playback ${playback}`);
  if (playback === 'mse') {
    const lag = await page.evaluate((sel) => {
      const v = document.querySelector(sel);
      return v.buffered.end(v.buffered.length - 1) - v.currentTime;
    }, `${tile} video`);
    assert.ok(lag < 2, `within ${lag.toFixed(2)} s of the live edge`);
  }
  await shot(page, '30-wall-live');
});

test('closing a tile, or leaving the view, closes its socket', async () => {
  const tile = `#wall-grid .tile[data-tile="0"]`;
  await page.click(`${tile} .tile-close`);
  assert.equal(await page.locator(`${tile} video`).count(), 0);
  await until(async () => (await liveOf(cam.id)).viewers === 0, { what: 'no viewer after closing the tile' });

  // Keyboard: pick the camera again from the tile's list (focused after closing).
  assert.equal(await page.evaluate(() => document.activeElement?.matches('#wall-grid .tile[data-tile="0"] select')), true);
  await page.selectOption(`${tile} select`, cam.id);
  await page.waitForSelector(`${tile}[data-state="playing"]`, { timeout: 20_000 });
  await until(async () => (await liveOf(cam.id)).viewers === 1, { what: 'one viewer again' });
  await page.click('#tab-incidents');
  await until(async () => (await liveOf(cam.id)).viewers === 0, { what: 'no viewer after leaving the wall' });
  await page.click('#tab-wall');
  await page.waitForSelector(`${tile}[data-state="playing"]`, { timeout: 20_000 });
});

test('a layout is saved, listed after a reload, and loads back the same camera', async () => {
  await page.click('#wall-grids button[data-grid="9"]');
  assert.equal(await page.locator('#wall-grid .tile').count(), 9);
  assert.equal(await page.locator('#wall-grid .tile[data-tile="0"]').getAttribute('data-camera'), cam.id, 'the grid keeps its tiles');
  await page.fill('#wall-name', LAYOUT);
  await page.click('#wall-save button[type="submit"]');
  await page.waitForSelector(`#wall-layouts li[data-layout="${LAYOUT}"]`);
  const saved = await hub.get('/api/v1/wall/layouts').catch(() => null); // the supervisor's: not the operator's
  assert.ok(!saved?.some((l) => l.name === LAYOUT), 'layouts are per person');

  await page.reload();
  await page.waitForSelector('#app:not([hidden])');
  await page.waitForSelector(`#view-wall:not([hidden]) #wall-layouts li[data-layout="${LAYOUT}"]`, { timeout: 10_000 });
  // The last layout saved comes back by itself…
  await page.waitForSelector(`#wall-grid[data-grid="9"] .tile[data-tile="0"][data-camera="${cam.id}"]`, { timeout: 10_000 });
  // …and loads on demand, after another grid was chosen.
  await page.click('#wall-grids button[data-grid="1"]');
  await page.click(`#wall-grid .tile[data-tile="0"] .tile-close`);
  await page.click(`#wall-layouts li[data-layout="${LAYOUT}"] button[data-action="load"]`);
  const tile = `#wall-grid[data-grid="9"] .tile[data-tile="0"][data-camera="${cam.id}"]`;
  await page.waitForSelector(`${tile}[data-state="playing"]`, { timeout: 20_000 });
  const s = await sampleTile(tile);
  assert.ok(s.w > 0 && s.t1 > s.t0, `plays again after the reload (${s.t0} → ${s.t1})`);
  await shot(page, '31-wall-reloaded');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations on the wall');

  // Delete: gone from the list and from the API.
  await page.click(`#wall-layouts li[data-layout="${LAYOUT}"] button[data-action="delete"]`);
  await page.waitForSelector(`#wall-layouts li[data-layout="${LAYOUT}"]`, { state: 'detached' });
  const mine = await page.evaluate(async () => (await fetch('/api/v1/wall/layouts')).json());
  assert.deepEqual(mine.map((l) => l.name), []);
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});
