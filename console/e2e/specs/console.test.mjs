// End to end: a real hub (`vigie up --demo`), Debian's Chromium driven by playwright-core.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, ulid } from '../hub.mjs';
import { axe, launch, openPage, shot, signInThroughPage, until } from '../pages/console.mjs';

let hub;
let browser;
let page;
let errors;

/** A detection of `kind` from the first sensor that runs it, 40 m east of that sensor. */
async function detectionOf(kind, extra = {}) {
  const sensors = await hub.get('/api/v1/sensors');
  const s = sensors.find((x) => x.analytics.includes(kind));
  assert.ok(s, `a demo sensor runs ${kind}`);
  return {
    id: ulid(),
    sensor: s.id,
    kind,
    time: new Date().toISOString(),
    location: { lon: s.lon + 0.0005, lat: s.lat, uncertainty_m: 5 },
    confidence: 0.9,
    attributes: { e2e: true },
    ...extra,
  };
}

/** A minimal baseline JPEG (1×1) carrying an EXIF segment with GPS coordinates. */
function jpegWithGps() {
  const seg = (marker, body) => Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff]), Buffer.from(body)]);
  const huff = (cls) => [cls, 0, 1, ...Array(14).fill(0), 0];
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    seg(0xe0, Buffer.from('JFIF\0\x01\x01\0\0\x01\0\x01\0\0', 'latin1')),
    seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0MM\0\x2a\0\0\0\x08', 'latin1'), Buffer.from('GPS 47.2155 -1.5555')])),
    seg(0xdb, [0, ...Array(64).fill(1)]),
    seg(0xc0, [8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
    seg(0xc4, huff(0x00)),
    seg(0xc4, huff(0x10)),
    seg(0xda, [1, 1, 0, 0, 63, 0]),
    Buffer.from([0x00, 0x3f, 0xff, 0xd9]),
  ]);
}

const hasApp1 = (b) => b.some((x, i) => x === 0xff && b[i + 1] === 0xe1);

async function incidentOf(detectionId) {
  return until(async () => (await hub.get(`/api/v1/detections/${detectionId}`)).incident, {
    what: `the incident of ${detectionId}`,
  });
}

async function blur() {
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
}

before(async () => {
  hub = await startHub();
  browser = await launch();
  ({ page, errors } = await openPage(browser, `${hub.base}/`));
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

test('an operator signs in through the form; the console goes live, draws the map, without console errors', async () => {
  await page.waitForSelector('#login-form:not([hidden])', { timeout: 10_000 });
  assert.ok(await page.locator('#app').isHidden(), 'nothing of the console before signing in');
  await shot(page, '00-sign-in');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations on the sign-in form');
  await page.fill('#login-user', 'operateur');
  await page.fill('#login-pass', 'not the password');
  await page.click('#login-submit');
  await page.waitForFunction(() => document.querySelector('#signin-msg').textContent.includes('mot de passe'));
  errors.length = 0; // the browser logs the 401 of the wrong password
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  assert.match(await page.locator('#whoami').innerText(), /Opérat/);
  await page.waitForSelector('#live.on', { timeout: 10_000 });
  await page.waitForSelector('.leaflet-overlay-pane path', { timeout: 10_000 });
  await page.waitForSelector('.sensor-icon, .sensor-cluster', { timeout: 10_000 });
  assert.equal(await page.locator('#tab-incidents').getAttribute('aria-current'), 'page');
  assert.match(await page.locator('#queue-h').innerText(), /File des incidents/);
  await page.waitForTimeout(1500);
  await shot(page, '01-console');
  assert.deepEqual(errors, [], 'no console errors');
});

test('a detection posted to the API appears as an incident in the queue within 2 s', async () => {
  const d = await detectionOf('video.fire');
  const t0 = Date.now();
  await hub.postDetection(d);
  const id = await incidentOf(d.id);
  await page.waitForSelector(`#queue-list li[data-id="${id}"]`, { timeout: Math.max(100, 2000 - (Date.now() - t0)) });
  assert.ok(Date.now() - t0 <= 2000, `shown after ${Date.now() - t0} ms`);
  await shot(page, '02-live-incident');
});

test('keyboard: j selects, a acknowledges (state checked through the API)', async () => {
  await page.selectOption('#f-state', 'new');
  await page.waitForFunction(() => document.querySelectorAll('#queue-list li[data-state]').length > 0, null, { timeout: 5000 });
  await blur();
  await page.keyboard.press('j');
  const id = await page.locator('#queue-list li.selected').getAttribute('data-id');
  assert.ok(id, 'an incident is selected');
  await page.keyboard.press('a');
  await until(async () => (await hub.get(`/api/v1/incidents/${id}`)).incident.state === 'acknowledged', {
    what: 'state acknowledged',
  });
  await page.keyboard.press('?');
  assert.ok(await page.locator('#help').isVisible(), '? opens the help');
  await shot(page, '03-help');
  await page.keyboard.press('Escape');
  await page.selectOption('#f-state', 'open');
  await blur();
});

test('resolving with an outcome updates the precision dashboard', async () => {
  const d = await detectionOf('video.wrong_way');
  await hub.postDetection(d);
  const id = await incidentOf(d.id);
  const before = await hub.get('/api/v1/stats/precision');
  const kind = (await hub.get(`/api/v1/incidents/${id}`)).incident.kinds[0];
  const was = before.by_kind[kind]?.confirmed ?? 0;
  await page.locator(`#queue-list li[data-id="${id}"] button`).click();
  await page.waitForSelector('#detail:not([hidden]) .timeline li');
  await shot(page, '04-detail');
  await page.selectOption('#outcome', 'confirmed');
  await page.click('#detail button[data-action="resolve"]');
  await until(async () => (await hub.get(`/api/v1/incidents/${id}`)).incident.state === 'resolved', {
    what: 'state resolved',
  });
  await page.keyboard.press('Escape');
  await blur();
  await page.keyboard.press('2');
  const cell = page.locator(`#precision-kind tr[data-key="${kind}"] td[data-col="confirmed"]`);
  await until(async () => (await cell.innerText()) === String(was + 1), { what: `${kind} confirmed = ${was + 1}` });
  const after = await hub.get('/api/v1/stats/precision');
  assert.equal(after.by_kind[kind].confirmed, was + 1);
  assert.equal(after.by_sensor[d.sensor].confirmed >= 1, true);
  await shot(page, '05-dashboard');
  await page.keyboard.press('3');
  await page.waitForSelector('#sensor-table tbody tr');
  await page.waitForTimeout(500);
  await shot(page, '06-sensors');
  // The demo's weapon-detection act has expired: the sensors view says so.
  await page.fill('#sensor-search', 'cam');
  assert.ok((await page.locator('#sensor-table [data-off="video.weapon"]').count()) > 0, 'an analytic whose act expired is shown off');
  await page.fill('#sensor-search', '');
  await page.keyboard.press('1');
});

test('online-media search: posts by topic and place, no author shown', async () => {
  await blur();
  await page.click('#tab-social');
  await page.fill('#so-q', 'tram OR place');
  await page.click('#social-form button[type="submit"]');
  await page.waitForSelector('#social-table tbody tr', { timeout: 5000 });
  const text = await page.locator('#social-table').innerText();
  assert.doesNotMatch(text, /@\w/, 'no handle shown');
  await shot(page, '09-social-search');
  await page.keyboard.press('1');
});

test('a mobile camera is drawn where its telemetry puts it, and moves as its fixes arrive', async () => {
  const drone = (await hub.get('/api/v1/sensors')).find((s) => s.mobile);
  assert.ok(drone, 'the demo has a mobile camera');
  await until(async () => (await hub.get('/api/v1/sensors')).find((s) => s.id === drone.id).position, { timeout: 10_000, what: 'a first fix' });
  await blur();
  await page.keyboard.press('3');
  // The sensors list focuses the map where the drone is now (zoomed in: drawn on its own).
  await page.click(`#view-sensors tr[data-id="${drone.id}"] button`);
  const marker = page.locator(`.leaflet-marker-icon[title="${drone.name}"]`);
  await marker.waitFor({ timeout: 10_000 });
  assert.equal(await marker.locator('.sensor-icon.mobile').count(), 1, 'drawn as a mobile sensor');
  await page.waitForTimeout(1000); // the map's fly-to ends
  const first = await marker.boundingBox();
  const moved = await until(
    async () => {
      const b = await marker.boundingBox();
      return b && Math.hypot(b.x - first.x, b.y - first.y) >= 2 ? b : null;
    },
    { timeout: 10_000, every: 250, what: 'the drone moving on the map' },
  );
  assert.ok(moved, 'the marker moved with the fixes of the live stream');
  await shot(page, '10-mobile-camera');
  await page.keyboard.press('1');
});

test('no serious or critical accessibility violations in the console (axe-core)', async () => {
  const found = [];
  for (const [key, name] of [['1', 'incidents'], ['2', 'dashboard'], ['3', 'sensors'], ['4', 'social']]) {
    await blur();
    await page.keyboard.press(key);
    await page.waitForTimeout(500);
    for (const v of await axe(page)) found.push(`${name}: ${v}`);
  }
  await page.keyboard.press('1');
  assert.deepEqual(found, []);
  assert.deepEqual(errors, [], 'no console errors');
});

test('a citizen report from /report becomes an incident', async () => {
  const { page: rp, errors: rerrors, context } = await openPage(browser, `${hub.base}/report`);
  await rp.setViewportSize({ width: 400, height: 900 });
  await rp.waitForSelector('#report-map .leaflet-overlay-pane path');
  await rp.selectOption('#category', 'lighting');
  await rp.fill('#description', 'Lampadaire éteint devant le numéro 12');
  const box = await rp.locator('#report-map').boundingBox();
  await rp.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await rp.waitForFunction(() => document.querySelector('#where').textContent.length > 0);
  const photo = jpegWithGps();
  assert.ok(hasApp1(photo));
  await rp.setInputFiles('#photo', { name: 'lampadaire.jpg', mimeType: 'image/jpeg', buffer: photo });
  await shot(rp, '07-report-form');
  const a11y = await axe(rp);
  await rp.click('#submit');
  await rp.waitForSelector('#done:not([hidden])');
  const ref = await rp.locator('#reference').innerText();
  assert.match(ref, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  const id = await incidentOf(ref);
  const inc = (await hub.get(`/api/v1/incidents/${id}`)).incident;
  assert.deepEqual(inc.kinds, ['citizen.report']);
  const det = await hub.get(`/api/v1/detections/${ref}`);
  assert.equal(det.attributes.category, 'lighting');
  const [ev] = det.evidence;
  assert.equal(ev.media_type, 'image/jpeg');
  assert.equal(ev.uri, `evidence/${ev.sha256}.jpg`);
  const stored = readFileSync(join(hub.data, ev.uri));
  assert.ok(!hasApp1(stored), 'the stored photo has no EXIF (APP1) segment');
  assert.ok(!stored.includes('GPS'), 'no GPS text left');
  await shot(rp, '08-report-done');
  assert.deepEqual(a11y, [], 'no serious/critical a11y violations on /report');
  assert.deepEqual(rerrors, [], 'no console errors on /report');
  await context.close();
  await page.waitForSelector(`#queue-list li[data-id="${id}"]`, { timeout: 5000 });
});
