// A camera recorded for the end-to-end tests: a device token made by the administrator
// through the API, a live test camera (`vigie record test-camera`) and a recorder
// (`vigie record run`) burning one rectangular privacy mask, as child processes that
// `stopAll` ends (SIGINT, then SIGKILL after 8 s).
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { apiLogin, ulid, vigieBin } from './hub.mjs';
import { until } from './pages/console.mjs';

/** Starts `vigie ARGS` as a child kept in `children`, its output collected in `.log`. */
export function spawnVigie(children, args, what) {
  const c = spawn(vigieBin(), args, { env: { ...process.env, VIGIE_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  c.log = [];
  c.stdout.on('data', (b) => c.log.push(String(b)));
  c.stderr.on('data', (b) => c.log.push(String(b)));
  c.what = what;
  children.push(c);
  return c;
}

async function stopChild(c) {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const gone = new Promise((r) => c.once('exit', r));
  c.kill('SIGINT');
  const t = setTimeout(() => c.kill('SIGKILL'), 8000);
  await gone;
  clearTimeout(t);
}

/** Stops the children, the last started first. */
export async function stopAll(children) {
  for (const c of children.reverse()) await stopChild(c);
}

/** After a recorder spec: the browser closed, the children stopped, the hub stopped, `dir` removed. */
export async function tearDown({ browser, children, hub, dir }) {
  await browser?.close();
  await stopAll(children);
  await hub?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A device token for one sensor, made by the demo administrator through the API. */
export async function deviceToken(hub, sensorId) {
  const admin = await apiLogin(hub.base, 'administrateur', 'demo-administrateur-nantes');
  const r = await fetch(`${hub.base}/api/v1/tokens`, {
    method: 'POST',
    headers: { Cookie: admin.cookie, 'X-CSRF-Token': admin.csrf, 'Content-Type': 'application/json' },
    body: JSON.stringify({ label: `enregistreur ${sensorId}`, sensors: [sensorId] }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()).token;
}

/**
 * Records camera `cameraId` from a 640×360 test camera into the hub: a recording config in
 * `dir` with 2-s segments and the mask `mask` ({x0, y0, x1, y1}, relative; null: none, the
 * camera is recorded by stream copy), plus `extra` TOML lines. Returns the recorder child.
 */
export async function recordTestCamera(children, { hub, cameraId, token, dir, mask, extra = '' }) {
  // The test camera prints its URL, then serves until killed.
  const camera = spawnVigie(children, ['record', 'test-camera', '--width', '640', '--height', '360', '--fps', '15'], 'test camera');
  const url = await until(() => camera.log.join('').match(/^(\S+:\/\/\S+)$/m)?.[1], { timeout: 20_000, what: 'the test camera URL' });
  // A folder per recorder: its spool is its own (a second recorder on one spool is refused).
  const own = join(dir, cameraId);
  mkdirSync(own, { recursive: true });
  const cfg = join(own, 'recording.toml');
  const masks = mask
    ? `masks = [ { name = "fenetres", points = [[${mask.x0}, ${mask.y0}], [${mask.x1}, ${mask.y0}], [${mask.x1}, ${mask.y1}], [${mask.x0}, ${mask.y1}]] } ]\n`
    : '';
  writeFileSync(
    cfg,
    `[[cameras]]
id = "${cameraId}"
url = "${url}"
segment_secs = 2
keyframe_secs = 1
preset = "ultrafast"
${extra}${masks}`,
  );
  return spawnVigie(children, ['record', 'run', '--config', cfg, '--hub', hub.base, '--token', token, '--drain-secs', '1'], 'recorder');
}

/**
 * Posts a `video.fire` detection of camera `cam` at `at` (ms) with its device token, a few
 * metres from the camera; returns the detection and the incident it opened or joined.
 */
export async function postFire(hub, token, cam, at) {
  const d = {
    id: ulid(),
    sensor: cam.id,
    kind: 'video.fire',
    time: new Date(at).toISOString(),
    location: { lon: cam.lon + 0.0003, lat: cam.lat },
    confidence: 0.9,
    attributes: { area_m2: 2 },
  };
  const post = await fetch(`${hub.base}/api/v1/detections`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/x-ndjson' },
    body: JSON.stringify(d) + '\n',
  });
  const res = await post.json();
  assert.equal(res.results?.[0]?.status, 'accepted', JSON.stringify(res));
  const incident = await until(async () => (await hub.get(`/api/v1/detections/${d.id}`)).incident, { what: 'the incident' });
  return { d, incident };
}
