// A camera recorded for the end-to-end tests: a device token made by the administrator
// through the API, a live test camera (`vigie record test-camera`) and a recorder
// (`vigie record run`) burning one rectangular privacy mask, as child processes that
// `stopAll` ends (SIGINT, then SIGKILL after 8 s).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { apiLogin, vigieBin } from './hub.mjs';
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
 * `dir` with 2-s segments and the mask `mask` ({x0, y0, x1, y1}, relative), plus `extra`
 * TOML lines. Returns the recorder child.
 */
export async function recordTestCamera(children, { hub, cameraId, token, dir, mask, extra = '' }) {
  // The test camera prints its URL, then serves until killed.
  const camera = spawnVigie(children, ['record', 'test-camera', '--width', '640', '--height', '360', '--fps', '15'], 'test camera');
  const url = await until(() => camera.log.join('').match(/^(\S+:\/\/\S+)$/m)?.[1], { timeout: 20_000, what: 'the test camera URL' });
  const cfg = join(dir, 'recording.toml');
  const { x0, y0, x1, y1 } = mask;
  writeFileSync(
    cfg,
    `[[cameras]]
id = "${cameraId}"
url = "${url}"
segment_secs = 2
keyframe_secs = 1
preset = "ultrafast"
${extra}masks = [ { name = "fenetres", points = [[${x0}, ${y0}], [${x1}, ${y0}], [${x1}, ${y1}], [${x0}, ${y1}]] } ]
`,
  );
  return spawnVigie(children, ['record', 'run', '--config', cfg, '--hub', hub.base, '--token', token, '--drain-secs', '1'], 'recorder');
}
