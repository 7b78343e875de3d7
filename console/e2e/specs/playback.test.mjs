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
let dir;
let token;
const children = [];

async function segments() {
  const from = new Date(Date.now() - 10 * 60_000).toISOString();
  return hub.get(`/api/v1/recordings/${cam.id}/segments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
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
  // About 8 s recorded: four segments or more held by the hub.
  await until(
    async () => {
      if (rec.exitCode !== null) throw new Error(`recorder exited ${rec.exitCode}: ${rec.log.join('')}`);
      return (await segments()).length >= 4;
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
