// End to end: several cameras in step, an incident opened on the wall at its time, tours.
// A real hub (`vigie up --demo`) and two cameras recorded for real: camera A (the demo's
// fire camera) from a test camera through a masking recorder (re-encoded), camera B (the
// demo camera nearest to it) by stream copy. In Chromium the operator plays both back in
// step, opens an incident of camera A on the wall (both cameras, at the incident's time), and
// runs a tour of two saved layouts.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../hub.mjs';
import { deviceToken, postFire, recordTestCamera, tearDown } from '../recorder.mjs';
import { axe, launch, openPage, shot, signInThroughPage, until } from '../pages/console.mjs';

/** Two cameras showing the same moment differ by less than this (ms). */
const IN_STEP_MS = 700;

let hub;
let browser;
let camA;
let camB;
let dir;
let tokenA;
const children = [];

function metres(a, b) {
  const r = Math.PI / 180;
  const x = Math.sin(((b.lat - a.lat) * r) / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lon - a.lon) * r) / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(x));
}

async function segments(id) {
  const from = new Date(Date.now() - 10 * 60_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const list = await hub.get(`/api/v1/recordings/${id}/segments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  return list.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
}

/** The wall-clock time (ms) each matching video shows, by camera; null while it has none. */
function shown(page, selector) {
  return page.evaluate((sel) => {
    const out = {};
    for (const v of document.querySelectorAll(sel)) {
      const ok = v.readyState >= 2 && v.dataset.segmentStart;
      out[v.dataset.camera] = ok
        ? { at: Date.parse(v.dataset.segmentStart) + (v.currentTime - Number(v.dataset.origin || 0)) * 1000, paused: v.paused, w: v.videoWidth }
        : null;
    }
    return out;
  }, selector);
}

/** What each video is doing, for a failure's message. */
function states(page, selector) {
  return page.evaluate(
    (sel) =>
      [...document.querySelectorAll(sel)].map((v) => ({
        camera: v.dataset.camera,
        state: v.dataset.state,
        ready: v.readyState,
        paused: v.paused,
        segment: v.dataset.segmentStart,
        t: v.currentTime,
      })),
    selector,
  );
}

/** `until`, its failure telling what the videos were doing. */
async function untilPlaying(page, selector, fn, opts) {
  try {
    return await until(fn, opts);
  } catch (e) {
    throw new Error(`${e.message}; videos: ${JSON.stringify(await states(page, selector))}`);
  }
}

/** Waits until both cameras' videos play, then checks three times, a second apart, that they show the same moment and move on. */
async function inStep(t, page, selector, what) {
  const both = async () => {
    const s = await shown(page, selector);
    return s[camA.id] && s[camB.id] && !s[camA.id].paused && !s[camB.id].paused ? s : null;
  };
  let prev = await untilPlaying(page, selector, both, { timeout: 20_000, every: 250, what: `${what}: both cameras playing` });
  const first = prev;
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = await untilPlaying(page, selector, both, { timeout: 10_000, every: 100, what: `${what}: both cameras still playing` });
    const gap = Math.abs(s[camA.id].at - s[camB.id].at);
    t.diagnostic(`${what}: A ${new Date(s[camA.id].at).toISOString()}, B ${new Date(s[camB.id].at).toISOString()}, ${Math.round(gap)} ms apart`);
    assert.ok(gap < IN_STEP_MS, `${what}: the two cameras show the same moment (${Math.round(gap)} ms apart)`);
    assert.ok(s[camA.id].at > prev[camA.id].at, `${what}: playback moves on`);
    assert.ok(s[camA.id].w > 0 && s[camB.id].w > 0, `${what}: both decode a picture`);
    prev = s;
  }
  return first;
}

before(async () => {
  hub = await startHub();
  const sensors = await hub.get('/api/v1/sensors');
  camA = sensors.find((s) => s.type === 'camera' && s.analytics.includes('video.fire'));
  assert.ok(camA, 'the demo has a camera that reports fire');
  camB = sensors
    .filter((s) => s.type === 'camera' && s.id !== camA.id)
    .sort((a, b) => metres(camA, a) - metres(camA, b))[0];
  assert.ok(metres(camA, camB) < 250, `camera ${camB.id} is near ${camA.id} (${Math.round(metres(camA, camB))} m)`);

  dir = mkdtempSync(join(tmpdir(), 'vigie-sync-'));
  tokenA = await deviceToken(hub, camA.id);
  const tokenB = await deviceToken(hub, camB.id);
  const common = { hub, dir, extra: 'live_view = false\n' };
  const recA = await recordTestCamera(children, { ...common, cameraId: camA.id, token: tokenA, mask: { x0: 0.55, y0: 0.15, x1: 0.9, y1: 0.6 } });
  const recB = await recordTestCamera(children, { ...common, cameraId: camB.id, token: tokenB, mask: null });
  await until(
    async () => {
      for (const r of [recA, recB]) if (r.exitCode !== null) throw new Error(`recorder exited ${r.exitCode}: ${r.log.join('')}`);
      return (await segments(camA.id)).length >= 5 && (await segments(camB.id)).length >= 5;
    },
    { timeout: 60_000, every: 500, what: 'both cameras recorded' },
  );
  browser = await launch();
});

after(() => tearDown({ browser, children, hub, dir }));

test('two cameras play back in step, and move together when the timeline seeks', async (t) => {
  const { page, errors, context } = await openPage(browser, `${hub.base}/#playback`);
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  await page.waitForSelector('#view-playback:not([hidden]) #pb-camera');
  const segsA = await segments(camA.id);
  const start = Date.parse(segsA[1].start) + 500;
  await page.selectOption('#pb-camera', camA.id);
  await page.click('#pb-add');
  await page.selectOption('#pb-camera-2', camB.id);
  // The time field is local time, to the second.
  const local = new Date(start - new Date(start).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await page.fill('#pb-time', local);
  await page.click('.pb-pick button[type="submit"]');
  await page.waitForSelector('#pb-grid[data-count="2"] video[data-camera]');
  await page.waitForSelector('#pb-timeline[data-lanes="2"]', { timeout: 10_000 });
  assert.equal(await page.locator('#pb-timeline .pb-lane').count(), 2, 'a timeline lane per camera');

  const first = await inStep(t, page, '#pb-grid video', 'playback');
  assert.ok(Math.abs(first[camA.id].at - start) < 2500, `playback starts at the chosen time (${new Date(first[camA.id].at).toISOString()} for ${new Date(start).toISOString()})`);

  // A step back on the timeline moves both.
  const before = (await shown(page, '#pb-grid video'))[camA.id].at;
  await page.focus('#pb-timeline');
  await page.keyboard.press('ArrowLeft');
  await until(
    async () => {
      const s = await shown(page, '#pb-grid video');
      return s[camA.id] && s[camB.id] && s[camA.id].at < before - 2000 && s[camB.id].at < before - 2000;
    },
    { timeout: 10_000, what: 'both cameras stepped back' },
  );
  await inStep(t, page, '#pb-grid video', 'after a seek');
  await shot(page, '33-playback-sync');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations in synchronised playback');
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});

test('an incident opens its cameras on the wall, playing their recordings at its time', async (t) => {
  const segsA = await segments(camA.id);
  const at = Date.parse(segsA[2].start) + 3000;
  const { d, incident } = await postFire(hub, tokenA, camA, at);

  const { page, errors, context } = await openPage(browser, `${hub.base}/`);
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  await page.waitForSelector('#live.on', { timeout: 10_000 });
  await page.locator(`#queue-list li[data-id="${incident}"] button`).click();
  await page.click('#detail:not([hidden]) #wall-open');

  await page.waitForSelector('#view-wall:not([hidden]) #wall-grid[data-mode="recorded"]', { timeout: 15_000 });
  assert.equal(await page.locator('#tab-wall').getAttribute('aria-current'), 'page');
  const cams = await page.locator('#wall-grid .tile[data-camera]:not([data-camera=""])').evaluateAll((ts) => ts.map((x) => x.dataset.camera));
  assert.deepEqual(cams, [camA.id, camB.id], 'the incident’s camera first, then the recorded camera near it');
  assert.equal(await page.locator('#wall-grid').getAttribute('data-grid'), '4');

  const first = await inStep(t, page, '#wall-grid video', 'wall');
  assert.ok(Math.abs(first[camA.id].at - (at - 2000)) < 2500, `the wall starts at the incident's time (${new Date(first[camA.id].at).toISOString()}, detection ${d.time})`);
  assert.equal(await page.locator(`#wall-grid .tile[data-camera="${camA.id}"] .badge-masked`).getAttribute('data-masked'), 'true');
  assert.equal(await page.locator(`#wall-grid .tile[data-camera="${camB.id}"] .badge-masked`).getAttribute('data-masked'), 'false');
  const shownAt = Number(await page.locator('#wall-at-time').getAttribute('data-at'));
  assert.ok(Math.abs(shownAt - first[camA.id].at) < 5000, 'the mode bar shows the moment played');
  await shot(page, '34-wall-incident');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations on the wall at a moment');

  // Back to live: the tiles keep their cameras; neither is live (the recorders publish no live view).
  await page.click('#wall-live');
  await page.waitForSelector('#wall-grid[data-mode="live"]');
  await page.waitForSelector(`#wall-grid .tile[data-camera="${camA.id}"][data-state="offline"]`);
  assert.equal(await page.locator('#wall-mode').isHidden(), true);
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});

test('a tour shows saved layouts in turn, and is kept per person', async () => {
  const { page, errors, context } = await openPage(browser, `${hub.base}/#wall`);
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  await page.waitForSelector('#view-wall:not([hidden]) #wall-grid');
  const save = async (name, grid, cams) => {
    await page.click(`#wall-grids button[data-grid="${grid}"]`);
    for (const [i, c] of cams.entries()) await page.selectOption(`#wall-grid .tile[data-tile="${i}"] select`, c);
    await page.fill('#wall-name', name);
    await page.click('#wall-save button[type="submit"]');
    await page.waitForSelector(`#wall-layouts li[data-layout="${name}"]`);
  };
  await save('Ronde 1', 1, [camA.id]);
  await save('Ronde 2', 4, [camB.id, camA.id]);
  await page.fill('#wall-tour-name', 'Ronde du soir');
  await page.fill('#wall-tour-dwell', '5');
  await page.check('#wall-tour-layouts input[value="Ronde 1"]');
  await page.check('#wall-tour-layouts input[value="Ronde 2"]');
  await page.click('#wall-tour-form button[type="submit"]');
  await page.waitForSelector('#wall-tours li[data-tour="Ronde du soir"]');

  await page.click('#wall-tours li[data-tour="Ronde du soir"] button[data-action="start"]');
  const status = page.locator('#wall-tour-status');
  await page.waitForSelector('#wall-tour-status[data-layout="Ronde 1"]');
  assert.equal(await page.locator('#wall-grid').getAttribute('data-grid'), '1');
  assert.equal(await page.locator('#wall-grid .tile[data-tile="0"]').getAttribute('data-camera'), camA.id);
  // After its dwell the next layout shows, then the first again.
  await page.waitForSelector('#wall-tour-status[data-layout="Ronde 2"]', { timeout: 8000 });
  assert.equal(await page.locator('#wall-grid').getAttribute('data-grid'), '4');
  assert.equal(await page.locator('#wall-grid .tile[data-tile="0"]').getAttribute('data-camera'), camB.id);
  await page.waitForSelector('#wall-tour-status[data-layout="Ronde 1"]', { timeout: 8000 });
  assert.match(await status.innerText(), /Ronde du soir/);
  // Pausing holds the layout; stopping ends the tour.
  await page.click('#wall-tour-pause');
  const held = await page.locator('#wall-grid').getAttribute('data-grid');
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal(await page.locator('#wall-grid').getAttribute('data-grid'), held, 'a paused tour holds its layout');
  await page.click('#wall-tour-stop');
  assert.equal(await page.locator('#wall-mode').isHidden(), true);

  // The tour is the operator's: listed again after a reload.
  await page.reload();
  await page.waitForSelector('#wall-tours li[data-tour="Ronde du soir"]', { timeout: 10_000 });
  assert.equal(await page.locator('#wall-layouts li[data-layout="Ronde du soir"]').count(), 0, 'a tour is not listed as a layout');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations with tours');
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});
