// End to end: playback. A real hub (`vigie up --demo`), a live test camera
// (`vigie record test-camera`) recorded by `vigie record run` in 2-second segments with a
// device token made through the admin API; a camera detection inside the recording opens an
// incident. In Chromium the operator opens the incident, jumps to its recording, and the
// video plays the segment holding the detection's time, the detection marked on the timeline.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub } from '../hub.mjs';
import { deviceToken, postFire, recordTestCamera, tearDown } from '../recorder.mjs';
import { axe, launch, openPage, shot, signInThroughPage, until } from '../pages/console.mjs';

let hub;
let browser;
let cam;
let drone;
let dir;
let token;
const children = [];

async function segments(id = cam.id) {
  const from = new Date(Date.now() - 10 * 60_000).toISOString();
  return hub.get(`/api/v1/recordings/${id}/segments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
}

before(async () => {
  hub = await startHub();
  const sensors = await hub.get('/api/v1/sensors');
  // A camera whose analytics include fire: one detection opens an incident.
  cam = sensors.find((s) => s.type === 'camera' && s.analytics.includes('video.fire'));
  assert.ok(cam, 'the demo has a camera that reports fire');

  token = await deviceToken(hub, cam.id);
  dir = mkdtempSync(join(tmpdir(), 'vigie-playback-'));
  const rec = await recordTestCamera(children, {
    hub,
    cameraId: cam.id,
    token,
    dir,
    mask: { x0: 0.55, y0: 0.15, x1: 0.9, y1: 0.6 },
    extra: 'live_view = false\n',
  });
  // The demo's drone (a mobile camera: the demo replays its telemetry) recorded by stream copy.
  drone = sensors.find((s) => s.mobile);
  assert.ok(drone, 'the demo has a mobile camera');
  const recDrone = await recordTestCamera(children, { hub, cameraId: drone.id, token: await deviceToken(hub, drone.id), dir, mask: null, extra: 'live_view = false\n' });
  // About 8 s recorded: four segments or more held by the hub.
  await until(
    async () => {
      for (const r of [rec, recDrone]) if (r.exitCode !== null) throw new Error(`recorder exited ${r.exitCode}: ${r.log.join('')}`);
      return (await segments()).length >= 4 && (await segments(drone.id)).length >= 4;
    },
    { timeout: 45_000, every: 500, what: `${cam.id} recorded` },
  );
  browser = await launch();
});

after(() => tearDown({ browser, children, hub, dir }));

test('from an incident, the recording plays at the detection time with the detection marked', async (t) => {
  const segs = (await segments()).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  // A fire inside the recording: 3 s after the second segment's start (the jump goes 2 s before).
  const at = Date.parse(segs[1].start) + 3000;
  const { d, incident } = await postFire(hub, token, cam, at);

  const { page, errors, context } = await openPage(browser, `${hub.base}/`);
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  await page.waitForSelector('#live.on', { timeout: 10_000 });
  await page.locator(`#queue-list li[data-id="${incident}"] button`).click();
  await page.waitForSelector('#detail:not([hidden]) #playback-jump');
  assert.equal(await page.locator('#playback-jump').innerText(), 'Revoir l’enregistrement');
  await page.click('#playback-jump');

  await page.waitForSelector('#view-playback:not([hidden]) #pb-video[data-segment]', { timeout: 15_000 });
  assert.equal(await page.locator('#tab-playback').getAttribute('aria-current'), 'page');
  assert.equal(await page.locator('#pb-camera').inputValue(), cam.id);
  const wall = () =>
    page.evaluate(() => {
      const v = document.querySelector('#pb-video');
      return {
        at: Date.parse(v.dataset.segmentStart) + (v.currentTime - Number(v.dataset.origin || 0)) * 1000,
        t: v.currentTime,
        w: v.videoWidth,
        h: v.videoHeight,
        paused: v.paused,
        origin: v.dataset.origin,
      };
    });
  await page.waitForFunction(() => document.querySelector('#pb-video').readyState >= 2, null, { timeout: 10_000 });
  const s0 = await wall();
  t.diagnostic(`first sample ${JSON.stringify(s0)}; detection at ${d.time}`);
  assert.ok(Math.abs(s0.at - at) < 3000, `playback at ${new Date(s0.at).toISOString()}, within 3 s of the detection (${d.time})`);
  await until(async () => (await wall()).t > s0.t + 0.5, { timeout: 6000, what: 'currentTime advancing' });
  const s1 = await wall();
  assert.ok(s1.w > 0 && s1.h > 0, `videoWidth ${s1.w} × ${s1.h}`);
  assert.equal(s1.paused, false);

  // The detection is marked on the timeline, where its time falls.
  const mark = page.locator(`#pb-timeline .pb-mark[data-detection="${d.id}"]`);
  assert.equal(await mark.count(), 1, 'the detection is marked');
  assert.ok((await page.locator('#pb-timeline .pb-span').count()) >= 4, 'the recorded segments are drawn');

  // Playing on: the next segment follows the first.
  const first = await page.locator('#pb-video').getAttribute('data-segment');
  await page.waitForFunction((id) => document.querySelector('#pb-video').dataset.segment !== id, first, { timeout: 10_000 });

  // Keyboard: speed and a step back on the timeline.
  await page.click('#pb-speeds button[data-speed="2"]');
  assert.equal(await page.evaluate(() => document.querySelector('#pb-video').playbackRate), 2);
  await page.focus('#pb-timeline');
  const before = (await wall()).at;
  await page.keyboard.press('ArrowLeft');
  await until(async () => (await wall()).at < before - 2000, { timeout: 8000, what: 'a step back' });
  await shot(page, '32-playback');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations in playback');
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});

test('a mobile camera played back shows where it was at the moment played', async (t) => {
  const segs = (await segments(drone.id)).sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const start = Date.parse(segs[1].start) + 500;
  const { page, errors, context } = await openPage(browser, `${hub.base}/#playback`);
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  await page.waitForSelector('#view-playback:not([hidden]) #pb-camera');
  await page.selectOption('#pb-camera', drone.id);
  const local = new Date(start - new Date(start).getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await page.fill('#pb-time', local);
  await page.click('.pb-pick button[type="submit"]');
  const sel = `#pb-grid .pb-where[data-camera="${drone.id}"]`;
  // The moment shown and the position shown, read together; the track read through the page (audited).
  const sample = () =>
    page.evaluate(
      async ({ sel, id }) => {
        const w = document.querySelector(sel);
        const at = Number(document.querySelector('#pb-timeline').dataset.at);
        if (!w || !w.dataset.lat || !at) return null;
        const q = `from=${encodeURIComponent(new Date(at - 60_000).toISOString())}&to=${encodeURIComponent(new Date(at + 60_000).toISOString())}`;
        const track = await (await fetch(`/api/v1/sensors/${id}/track?${q}`)).json();
        return { at, lat: Number(w.dataset.lat), lon: Number(w.dataset.lon), text: w.textContent, fixes: track.fixes };
      },
      { sel, id: drone.id },
    );
  const expect = (s) => {
    const f = s.fixes.map((x) => ({ t: Date.parse(x.time), lat: x.lat, lon: x.lon }));
    const i = f.findIndex((x) => x.t > s.at);
    assert.ok(i > 0, 'fixes around the moment shown');
    const [a, b] = [f[i - 1], f[i]];
    const k = (s.at - a.t) / (b.t - a.t);
    return { lat: a.lat + (b.lat - a.lat) * k, lon: a.lon + (b.lon - a.lon) * k };
  };
  const metres = (p, q) => Math.hypot((p.lat - q.lat) * 111_320, (p.lon - q.lon) * 111_320 * Math.cos((p.lat * Math.PI) / 180));
  const s0 = await until(sample, { timeout: 15_000, what: 'the position at the moment played' });
  assert.match(s0.text, /Position à cet instant : 47\.\d+, -1\.\d+/);
  assert.ok(metres(s0, expect(s0)) < 25, `the position shown is the track's at ${new Date(s0.at).toISOString()} (${Math.round(metres(s0, expect(s0)))} m off)`);
  // Playing on, the drone moves, and the position shown follows the track.
  const s1 = await until(async () => {
    const s = await sample();
    return s && s.at > s0.at + 2000 ? s : null;
  }, { timeout: 15_000, what: 'playback moving on' });
  t.diagnostic(`drone at ${s0.lat},${s0.lon} then ${s1.lat},${s1.lon}`);
  assert.ok(metres(s0, s1) > 1, 'the position shown moves with the drone');
  assert.ok(metres(s1, expect(s1)) < 25, 'and is still the track’s');
  await shot(page, '35-playback-mobile');
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});
