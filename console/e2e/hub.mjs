// Starts a real hub (`vigie up --demo`) on free loopback ports in a fresh data folder.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export function vigieBin() {
  const bin = process.env.VIGIE_BIN ?? resolve(here, '../../target/release/vigie');
  if (!existsSync(bin)) throw new Error(`no hub binary at ${bin}: run \`cargo build --release -p vigie\` or set VIGIE_BIN`);
  return bin;
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export async function startHub() {
  const data = mkdtempSync(join(tmpdir(), 'vigie-e2e-'));
  const http = await freePort();
  const mqtt = await freePort();
  const base = `http://127.0.0.1:${http}`;
  const log = [];
  const child = spawn(
    vigieBin(),
    ['up', '--demo', '--data', data, '--http', `127.0.0.1:${http}`, '--mqtt-listen', `127.0.0.1:${mqtt}`],
    { env: { ...process.env, VIGIE_LOG: process.env.VIGIE_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (b) => log.push(String(b)));
  child.stderr.on('data', (b) => log.push(String(b)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`hub exited (${child.exitCode}):\n${log.join('')}`);
    // The banner's last line comes once everything is set up (demo accounts included).
    if (log.join('').includes('Ctrl-C to stop.')) {
      const r = await fetch(`${base}/api/v1/health`);
      if (r.ok) break;
    }
    if (Date.now() > deadline) throw new Error(`hub not ready after 30 s:\n${log.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The demo's accounts and device token (printed in its banner; crates/vigie-hub/src/demo/accounts.rs).
  const session = await apiLogin(base, 'superviseur', 'demo-superviseur-nantes');
  return {
    base,
    data,
    log,
    /** GET as the demo supervisor (a real session: cookie, and CSRF token on writes). */
    async get(path) {
      const r = await fetch(base + path, { headers: { Cookie: session.cookie } });
      if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    /** POST JSON as the demo supervisor. */
    async post(path, body) {
      const r = await fetch(base + path, {
        method: 'POST',
        headers: { Cookie: session.cookie, 'X-CSRF-Token': session.csrf, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
      return r.json();
    },
    /** Publishes a detection as a device, with the demo's device token. */
    async postDetection(d) {
      const r = await fetch(`${base}/api/v1/detections`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${DEMO_TOKEN}`, 'Content-Type': 'application/x-ndjson' },
        body: JSON.stringify(d) + '\n',
      });
      const j = await r.json();
      if (j.results?.[0]?.status !== 'accepted') throw new Error(`detection not accepted: ${JSON.stringify(j)}`);
      return j;
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r();
          }, 5000);
          child.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
}

export const DEMO_TOKEN = 'vgt_demo-nantes-every-sensor';

/** Signs in through the API; returns the session cookie and the CSRF token. */
export async function apiLogin(base, username, password) {
  const r = await fetch(`${base}/api/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return { cookie, csrf };
}

/** A ULID for test detections. */
export function ulid(now = Date.now()) {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = '';
  for (let i = 0, ms = now; i < 10; i++, ms = Math.floor(ms / 32)) t = A[ms % 32] + t;
  let r = '';
  for (let i = 0; i < 16; i++) r += A[Math.floor(Math.random() * 32)];
  return t + r;
}
