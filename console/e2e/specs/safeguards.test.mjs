// End to end: the safeguards as people use them — an operator asks for an export on a
// requisition, a supervisor approves it and downloads the signed package, the DPO finds
// every step in the audit log and the registers, and the public reads the transparency
// page without signing in. Debian's Chromium against a real hub (`vigie up --demo`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO_TOKEN, startHub, ulid, vigieBin } from '../hub.mjs';
import { axe, launch, openPage, shot, signInThroughPage, until } from '../pages/console.mjs';

let hub;
let browser;
let incident;
let exportId;

before(async () => {
  hub = await startHub();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

/** A real JPEG, drawn and encoded by the browser (JFIF, no metadata). */
async function snapshotFromBrowser(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 320;
    c.height = 180;
    const g = c.getContext('2d');
    g.fillStyle = '#446';
    g.fillRect(0, 0, 320, 180);
    g.fillStyle = '#f80';
    g.fillRect(120, 60, 80, 60);
    return c.toDataURL('image/jpeg', 0.85).split(',')[1];
  });
  return Buffer.from(b64, 'base64');
}

test('an operator asks for an export on a requisition from the incident', async () => {
  const { page, errors, context } = await openPage(browser, `${hub.base}/`);
  await signInThroughPage(page, 'operateur', 'demo-operateur-nantes');
  await page.waitForSelector('#live.on', { timeout: 10_000 });
  // A camera publishes a fire with its masked snapshot.
  const jpeg = await snapshotFromBrowser(page);
  const up = await fetch(`${hub.base}/api/v1/evidence`, { method: 'POST', headers: { Authorization: `Bearer ${DEMO_TOKEN}`, 'Content-Type': 'image/jpeg' }, body: jpeg });
  assert.equal(up.status, 201, await up.clone().text());
  const evidence = await up.json();
  const sensors = await hub.get('/api/v1/sensors');
  const cam = sensors.find((s) => s.analytics.includes('video.fire'));
  const d = { id: ulid(), sensor: cam.id, kind: 'video.fire', time: new Date().toISOString(), location: { lon: cam.lon + 0.0004, lat: cam.lat }, confidence: 0.9, attributes: { area_m2: 3.5 }, evidence: [evidence] };
  await hub.postDetection(d);
  incident = await until(async () => (await hub.get(`/api/v1/detections/${d.id}`)).incident, { what: 'the incident' });
  await page.locator(`#queue-list li[data-id="${incident}"] button`).click();
  await page.waitForSelector('#detail:not([hidden]) .timeline img.evidence-img');
  await page.waitForFunction(() => document.querySelector('#detail .timeline img.evidence-img').naturalWidth > 0);
  await shot(page, '20-detail-with-evidence');
  await page.click('#export-request');
  await page.fill('#rq-service', 'Commissariat central de Nantes');
  await page.fill('#rq-officer', 'Capitaine A. Durand, OPJ');
  await page.fill('#rq-number', '2026/118');
  await page.fill('#rq-reason', 'Enquête sur un départ de feu');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations in the export dialog');
  await page.click('#export-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#status-msg').textContent.includes('demandée'));
  const list = await hub.get('/api/v1/exports');
  exportId = list.find((e) => e.incident_id === incident).id;
  // The requester sees it wait for someone else.
  await page.click('#tab-exports');
  await page.waitForSelector(`#exports-table tr[data-export="${exportId}"][data-status="requested"]`);
  assert.equal(await page.locator(`#exports-table tr[data-export="${exportId}"] button[data-decide]`).count(), 0);
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});

test('a supervisor approves it and downloads a package that verifies', async () => {
  const { page, context } = await openPage(browser, `${hub.base}/`);
  await signInThroughPage(page, 'superviseur', 'demo-superviseur-nantes');
  await page.click('#tab-exports');
  const row = page.locator(`#exports-table tr[data-export="${exportId}"]`);
  await row.locator('input').fill('Réquisition conforme');
  await row.locator('button[data-decide="approve"]').click();
  await page.waitForSelector(`#exports-table tr[data-export="${exportId}"][data-status="approved"] a[data-download]`);
  await shot(page, '21-exports');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`a[data-download="${exportId}"]`)]);
  const dir = mkdtempSync(join(tmpdir(), 'vigie-export-'));
  const path = join(dir, 'package.zip');
  await download.saveAs(path);
  const published = (await (await fetch(`${hub.base}/api/v1/transparency`)).json()).export_public_key;
  const keyFile = join(dir, 'export.pub');
  writeFileSync(keyFile, published);
  const out = execFileSync(vigieBin(), ['export', 'verify', path, '--public-key', keyFile], { encoding: 'utf8' });
  assert.match(out, new RegExp(`ok: export ${exportId} — signature valid \\(the given key\\), 1 file`));
  await context.close();
});

test('the DPO finds every step in the audit log and the registers', async () => {
  const { page, errors, context } = await openPage(browser, `${hub.base}/`);
  await signInThroughPage(page, 'dpd', 'demo-dpd-nantes');
  assert.ok(await page.locator('#tab-incidents').isHidden(), 'the DPO reads no incident');
  await page.waitForSelector('#audit-table tbody tr');
  await page.fill('#au-target', `export/${exportId}`);
  await page.click('#audit-form button[type="submit"]');
  await until(async () => (await page.locator('#audit-table tbody tr').count()) === 3, { what: 'three export entries' });
  const actions = await page.locator('#audit-table tbody tr td:nth-child(4)').allInnerTexts();
  assert.deepEqual(actions, ['paquet téléchargé', 'extraction approuvée', 'demande d’extraction']);
  await shot(page, '22-audit');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations on the audit view');
  await page.click('#tab-registers');
  await page.waitForSelector(`#reg-extractions tr[data-export="${exportId}"]`);
  await page.waitForSelector(`#reg-holds tr[data-hold="${incident}"]`);
  const csv = await page.evaluate(async () => (await fetch('/api/v1/exports?format=csv')).text());
  assert.match(csv, /2026\/118/);
  await shot(page, '23-registers');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations on the registers');
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});

test('the public transparency page needs no login and counts the export', async () => {
  const { page, errors, context } = await openPage(browser, `${hub.base}/transparence`);
  await page.waitForSelector('body[data-ready="true"]');
  assert.match(await page.locator('#t-intro').innerText(), /Nantes/);
  const sensors = await page.locator('#sensors-table tbody tr').count();
  assert.ok(sensors >= 50, `${sensors} sensors listed`);
  const month = page.locator('#months-table tbody tr').first();
  assert.match(await month.locator('td').nth(1).innerText(), /^1 \/ 1$/, 'one export granted of one requested');
  assert.match(await page.locator('#checkpoint').innerText(), /vigie\/audit/);
  assert.ok((await page.locator('#t-retention').innerText()).includes('L252-5'));
  await shot(page, '24-transparency');
  assert.deepEqual(await axe(page), [], 'no serious/critical a11y violations on the transparency page');
  assert.deepEqual(errors, [], 'no console errors');
  await context.close();
});
