// Playback of a camera's recordings. A timeline bar over a window (30 minutes) shows what
// is recorded and the camera's detections as marks; a click or a drag on it seeks, the
// arrow keys step. Each segment (`GET /api/v1/segments/{id}`, an audited read: one
// standalone fragmented MP4) is fetched whole and played from a `blob:` URL (the hub's CSP
// allows `media-src blob:`), then the next one at its end. Speed 0.5×, 1×, 2×, 4×.
import { req } from './api';
import { kindLabel, t } from './i18n';
import { state } from './state';
import type { StoredDetection } from './types/detection';
import { $, h } from './util';

/** The timeline's width (ms). */
const WINDOW_MS = 30 * 60_000;
const SPEEDS = [0.5, 1, 2, 4];
/** Arrow keys step this much (ms); with Shift, a minute. */
const STEP_MS = 5_000;

interface CameraRec {
  camera: string;
  segments: number;
  first: string | null;
  last: string | null;
}
interface Segment {
  id: string;
  camera: string;
  start: string;
  end: string;
  width: number;
  height: number;
  masked: boolean;
}
interface Seg extends Segment {
  s: number;
  e: number;
}

const pb = {
  camera: '',
  from: 0,
  segs: [] as Seg[],
  dets: [] as StoredDetection[],
  cur: null as Seg | null,
  /** The media time at which the current segment's first frame is shown. */
  origin: 0,
  speed: 1,
  playing: false,
  url: '',
  /** Bumped on each seek: a late segment fetch is dropped. */
  gen: 0,
  tick: 0,
};
let onError: (e: unknown) => void = () => {};

const iso = (ms: number) => new Date(ms).toISOString();
const fmt = (ms: number) =>
  new Date(ms).toLocaleString(document.documentElement.lang === 'en' ? 'en-GB' : 'fr-FR', {
    day: '2-digit',
    month: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

function video(): HTMLVideoElement | null {
  return document.querySelector<HTMLVideoElement>('#pb-video');
}

/** The wall-clock time shown (ms), or null when nothing is loaded. */
export function playbackTime(): number | null {
  const v = video();
  if (!v || !pb.cur) return null;
  return pb.cur.s + Math.max(0, v.currentTime - pb.origin) * 1000;
}

/** Opens the playback view (called by main.ts) on a camera and a time, or as it was. */
export async function renderPlayback(report: (e: unknown) => void, camera?: string, at?: number): Promise<void> {
  onError = report;
  const root = $('#playback');
  const over = await req<{ cameras: CameraRec[] }>('GET', '/api/v1/recordings');
  const cams = over.cameras.filter((c) => c.segments > 0);
  if (camera) pb.camera = camera;
  if (!pb.camera && cams.length) pb.camera = cams[0].camera;
  const name = (id: string) => state.sensors.find((s) => s.id === id)?.name ?? id;
  const sel = h(
    'select',
    { id: 'pb-camera', 'aria-label': t('pb.camera') },
    ...cams.map((c) => h('option', { value: c.camera }, name(c.camera))),
  ) as HTMLSelectElement;
  if (pb.camera && !cams.some((c) => c.camera === pb.camera)) sel.append(h('option', { value: pb.camera }, name(pb.camera)));
  sel.value = pb.camera;
  const last = cams.find((c) => c.camera === pb.camera)?.last;
  const target = at ?? playbackTime() ?? (last ? Date.parse(last) - 60_000 : Date.now() - 60_000);
  const when = h('input', { id: 'pb-time', type: 'datetime-local', step: 1, value: localInput(target), 'aria-label': t('pb.time') }) as HTMLInputElement;
  const go = h('form', { class: 'inline-form pb-pick', onsubmit: (e: Event) => {
    e.preventDefault();
    pb.camera = sel.value;
    const ms = new Date(when.value).getTime();
    if (Number.isFinite(ms)) void load(ms).catch(onError);
  } },
  h('label', {}, t('pb.camera'), ' ', sel), h('label', {}, t('pb.time'), ' ', when), h('button', { type: 'submit' }, t('pb.go')));
  const play = h('button', { type: 'button', id: 'pb-play', 'aria-pressed': 'false', onclick: () => togglePlay() }, t('pb.play'));
  const speeds = h(
    'div',
    { id: 'pb-speeds', role: 'group', 'aria-label': t('pb.speed') },
    ...SPEEDS.map((s) =>
      h('button', { type: 'button', 'data-speed': s, 'aria-pressed': String(s === pb.speed), onclick: () => setSpeed(s) }, `${String(s).replace('.', t('pb.decimal'))}×`),
    ),
  );
  const bar = h('div', {
    id: 'pb-timeline',
    class: 'pb-timeline',
    role: 'slider',
    tabindex: 0,
    'aria-label': t('pb.timeline'),
    'aria-valuemin': 0,
    'aria-valuemax': WINDOW_MS / 1000,
    'aria-valuenow': 0,
  });
  bar.addEventListener('pointerdown', (e) => scrubStart(e as PointerEvent, bar));
  bar.addEventListener('keydown', (e) => barKey(e as KeyboardEvent));
  const v = h('video', { id: 'pb-video', muted: true, playsinline: true, 'aria-label': t('pb.video') }) as HTMLVideoElement;
  v.muted = true;
  v.addEventListener('ended', () => void next().catch(onError));
  v.addEventListener('timeupdate', () => paintHead());
  v.addEventListener('play', () => paintPlay());
  v.addEventListener('pause', () => paintPlay());
  root.replaceChildren(
    h('div', { class: 'wall-tools' }, go, h('div', { class: 'pb-controls' }, play, speeds, h('span', { id: 'pb-clock', class: 'tile-clock', 'aria-live': 'off' }, '—'))),
    h('div', { class: 'pb-range' }, h('span', { id: 'pb-from' }), h('span', { id: 'pb-to' })),
    bar,
    h('div', { class: 'tile-screen pb-screen' }, v, h('span', { class: 'tile-state', id: 'pb-state' }, cams.length ? '' : t('pb.none'))),
    h('p', { class: 'muted' }, t('pb.help')),
  );
  clearInterval(pb.tick);
  pb.tick = window.setInterval(() => paintHead(), 500);
  if (pb.camera) await load(target);
}

/** Leaving the view: stops, frees the segment's bytes. */
export function leavePlayback(): void {
  clearInterval(pb.tick);
  pb.gen++;
  const v = video();
  if (v) {
    v.pause();
    v.removeAttribute('src');
    v.load();
  }
  if (pb.url) URL.revokeObjectURL(pb.url);
  pb.url = '';
  pb.cur = null;
  pb.playing = false;
}

/** Loads the window around `at` (a third before, two thirds after) and seeks to it. */
async function load(at: number): Promise<void> {
  pb.from = at - WINDOW_MS / 3;
  const q = `from=${encodeURIComponent(iso(pb.from))}&to=${encodeURIComponent(iso(pb.from + WINDOW_MS))}`;
  const cam = encodeURIComponent(pb.camera);
  const [segs, dets] = await Promise.all([
    req<Segment[]>('GET', `/api/v1/recordings/${cam}/segments?${q}&limit=10000`),
    req<StoredDetection[]>('GET', `/api/v1/detections?sensor=${cam}&${q}&limit=1000`).catch(() => [] as StoredDetection[]),
  ]);
  pb.segs = segs.map((s) => ({ ...s, s: Date.parse(s.start), e: Date.parse(s.end) })).sort((a, b) => a.s - b.s);
  pb.dets = dets;
  $('#pb-from').textContent = fmt(pb.from);
  $('#pb-to').textContent = fmt(pb.from + WINDOW_MS);
  paintBar();
  pb.playing = true;
  await seek(at);
}

function paintBar(): void {
  const bar = $('#pb-timeline');
  const pct = (ms: number) => `${Math.min(100, Math.max(0, ((ms - pb.from) / WINDOW_MS) * 100))}%`;
  const spans = pb.segs.map((s) => {
    const e = h('div', { class: 'pb-span', 'data-segment': s.id });
    e.style.left = pct(s.s);
    e.style.width = `calc(${pct(s.e)} - ${pct(s.s)})`;
    return e;
  });
  const marks = pb.dets.map((d) => {
    const e = h('div', { class: 'pb-mark', 'data-detection': d.id, title: `${kindLabel(d.kind)} · ${fmt(Date.parse(d.time))}` });
    e.style.left = pct(Date.parse(d.time));
    return e;
  });
  bar.replaceChildren(...spans, ...marks, h('div', { class: 'pb-head', id: 'pb-head' }));
  paintHead();
}

function paintHead(): void {
  const now = playbackTime();
  const head = document.querySelector<HTMLElement>('#pb-head');
  const bar = document.querySelector<HTMLElement>('#pb-timeline');
  if (!head || !bar) return;
  head.hidden = now === null;
  if (now === null) return;
  head.style.left = `${Math.min(100, Math.max(0, ((now - pb.from) / WINDOW_MS) * 100))}%`;
  bar.setAttribute('aria-valuenow', String(Math.round((now - pb.from) / 1000)));
  bar.setAttribute('aria-valuetext', fmt(now));
  $('#pb-clock').textContent = fmt(now);
}

function paintPlay(): void {
  const v = video();
  const b = document.querySelector('#pb-play');
  if (!v || !b) return;
  const on = !v.paused;
  b.textContent = on ? t('pb.pause') : t('pb.play');
  b.setAttribute('aria-pressed', String(on));
}

function setState(msg: string): void {
  const s = document.querySelector('#pb-state');
  if (s) s.textContent = msg;
}

/** Plays from `at`: the segment holding it, else the next one after it. */
async function seek(at: number): Promise<void> {
  const seg = pb.segs.find((s) => at >= s.s && at < s.e) ?? pb.segs.find((s) => s.s >= at);
  if (!seg) {
    setState(t('pb.nothing'));
    return;
  }
  const offset = Math.max(0, at - seg.s) / 1000;
  const v = video();
  if (v && pb.cur?.id === seg.id && v.readyState >= 1) {
    v.currentTime = pb.origin + offset;
    paintHead();
    return;
  }
  await open(seg, offset);
}

async function open(seg: Seg, offset: number): Promise<void> {
  const gen = ++pb.gen;
  setState(t('pb.loading'));
  const r = await fetch(`/api/v1/segments/${encodeURIComponent(seg.id)}`, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`${t('pb.error')} (${r.status})`);
  const blob = await r.blob();
  const v = video();
  if (gen !== pb.gen || !v) return;
  if (pb.url) URL.revokeObjectURL(pb.url);
  pb.url = URL.createObjectURL(new Blob([blob], { type: 'video/mp4' }));
  pb.cur = seg;
  v.dataset.segment = seg.id;
  v.dataset.segmentStart = seg.start;
  await new Promise<void>((ok, fail) => {
    v.addEventListener('loadedmetadata', () => ok(), { once: true });
    v.addEventListener('error', () => fail(new Error(t('pb.error'))), { once: true });
    v.src = pb.url;
  });
  if (gen !== pb.gen) return;
  // A segment's media time may not start at zero (its fragments keep the stream's clock).
  pb.origin = v.seekable.length ? v.seekable.start(0) : 0;
  v.dataset.origin = String(pb.origin);
  v.currentTime = pb.origin + offset;
  v.playbackRate = pb.speed;
  setState('');
  if (pb.playing) await v.play().catch(() => undefined);
  paintHead();
}

/** The segment after the current one ended. */
async function next(): Promise<void> {
  const cur = pb.cur;
  if (!cur) return;
  const n = pb.segs.find((s) => s.s >= cur.e - 500 && s.id !== cur.id && s.s > cur.s);
  if (n) return open(n, 0);
  // Perhaps recorded since the window was loaded.
  const q = `from=${encodeURIComponent(iso(cur.e - 1000))}&to=${encodeURIComponent(iso(cur.e + WINDOW_MS))}`;
  const more = await req<Segment[]>('GET', `/api/v1/recordings/${encodeURIComponent(pb.camera)}/segments?${q}`);
  const fresh = more.map((s) => ({ ...s, s: Date.parse(s.start), e: Date.parse(s.end) })).filter((s) => s.s > cur.s && !pb.segs.some((x) => x.id === s.id));
  if (!fresh.length) {
    pb.playing = false;
    setState(t('pb.end'));
    return;
  }
  pb.segs.push(...fresh);
  pb.segs.sort((a, b) => a.s - b.s);
  paintBar();
  return open(fresh.sort((a, b) => a.s - b.s)[0], 0);
}

function togglePlay(): void {
  const v = video();
  if (!v || !pb.cur) return;
  if (v.paused) {
    pb.playing = true;
    void v.play().catch(() => undefined);
  } else {
    pb.playing = false;
    v.pause();
  }
}

function setSpeed(s: number): void {
  pb.speed = s;
  const v = video();
  if (v) v.playbackRate = s;
  for (const b of document.querySelectorAll<HTMLElement>('#pb-speeds button')) b.setAttribute('aria-pressed', String(Number(b.dataset.speed) === s));
}

function scrubStart(e: PointerEvent, bar: HTMLElement): void {
  if (e.button !== 0) return;
  e.preventDefault();
  bar.focus({ preventScroll: true });
  const at = (x: number) => {
    const r = bar.getBoundingClientRect();
    return pb.from + (Math.min(Math.max(x - r.left, 0), r.width) / Math.max(1, r.width)) * WINDOW_MS;
  };
  const head = $('#pb-head');
  const move = (m: PointerEvent) => {
    head.hidden = false;
    head.style.left = `${((at(m.clientX) - pb.from) / WINDOW_MS) * 100}%`;
  };
  const up = (u: PointerEvent) => {
    window.removeEventListener('pointermove', move);
    window.removeEventListener('pointerup', up);
    void seek(at(u.clientX)).catch(onError);
  };
  window.addEventListener('pointermove', move);
  window.addEventListener('pointerup', up);
  move(e);
}

function barKey(e: KeyboardEvent): void {
  const now = playbackTime() ?? pb.from;
  const step = e.shiftKey ? 60_000 : STEP_MS;
  let to: number | null = null;
  if (e.key === 'ArrowLeft') to = now - step;
  else if (e.key === 'ArrowRight') to = now + step;
  else if (e.key === 'Home') to = pb.from;
  else if (e.key === 'End') to = pb.segs.length ? pb.segs[pb.segs.length - 1].s : null;
  else if (e.key === ' ') {
    togglePlay();
    e.preventDefault();
    e.stopPropagation();
    return;
  } else return;
  e.preventDefault();
  e.stopPropagation();
  if (to !== null) void seek(to).catch(onError);
}
