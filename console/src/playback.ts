// Playback of recordings, one camera or up to four in step. A timeline over a window
// (30 minutes) has a lane per camera showing what is recorded and the camera's detections as
// marks; a click or a drag on it seeks, the arrow keys step. Every camera shows the same
// moment (recorded.ts: one clock; each segment fetched is an audited read). Speed 0.5×, 1×,
// 2×, 4×.
import { req } from './api';
import { kindLabel, t } from './i18n';
import { RecordedPlayer, SyncClock, stateText } from './recorded';
import { state } from './state';
import { positionAt, trackOf, type Fix } from './track';
import type { StoredDetection } from './types/detection';
import { $, dateTime, h } from './util';

/** The timeline's width (ms). */
const WINDOW_MS = 30 * 60_000;
const SPEEDS = [0.5, 1, 2, 4];
/** Arrow keys step this much (ms); with Shift, a minute. */
const STEP_MS = 5_000;
/** Cameras played in step at most. */
export const MAX_SYNC = 4;

interface CameraRec {
  camera: string;
  segments: number;
  first: string | null;
  last: string | null;
}

const pb = {
  cameras: [] as string[],
  from: 0,
  dets: new Map<string, StoredDetection[]>(),
  /** Mobile cameras' fixes over the window: where each was at the moment shown. */
  tracks: new Map<string, Fix[]>(),
  clock: null as SyncClock | null,
  speed: 1,
  /** Bumped on each load: a late answer is dropped. */
  gen: 0,
};
let onError: (e: unknown) => void = () => {};

const iso = (ms: number) => new Date(ms).toISOString();
const fmtTime = (ms: number) => dateTime(iso(ms));
const cameraName = (id: string) => state.sensors.find((s) => s.id === id)?.name ?? id;

function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 19);
}

/** The wall-clock time shown (ms), or null when nothing is loaded. */
export function playbackTime(): number | null {
  return pb.clock && pb.clock.players.some((p) => p.cur) ? pb.clock.at : null;
}

/** Opens the playback view (called by main.ts) on cameras and a time, or as it was. */
export async function renderPlayback(report: (e: unknown) => void, cameras?: string[], at?: number): Promise<void> {
  onError = report;
  const root = $('#playback');
  const over = await req<{ cameras: CameraRec[] }>('GET', '/api/v1/recordings');
  const recorded = over.cameras.filter((c) => c.segments > 0);
  const wasAt = playbackTime();
  if (cameras?.length) pb.cameras = cameras.slice(0, MAX_SYNC);
  if (!pb.cameras.length && recorded.length) pb.cameras = [recorded[0].camera];
  const last = recorded.find((c) => c.camera === pb.cameras[0])?.last;
  const target = at ?? wasAt ?? (last ? Date.parse(last) - 60_000 : Date.now() - 60_000);

  const picks = h('div', { id: 'pb-cameras', class: 'pb-cameras' });
  const addPick = (cam: string, i: number) => {
    const sel = h(
      'select',
      { id: i === 0 ? 'pb-camera' : `pb-camera-${i + 1}`, class: 'pb-camera', 'aria-label': i === 0 ? t('pb.camera') : t('pb.camera_n', { n: i + 1 }) },
      ...recorded.map((c) => h('option', { value: c.camera }, cameraName(c.camera))),
    ) as HTMLSelectElement;
    if (cam && !recorded.some((c) => c.camera === cam)) sel.append(h('option', { value: cam }, cameraName(cam)));
    sel.value = cam || recorded.find((c) => !pb.cameras.includes(c.camera))?.camera || recorded[0]?.camera || '';
    const remove =
      i === 0
        ? null
        : h('button', { type: 'button', class: 'ghost pb-remove', 'aria-label': t('pb.remove_camera', { n: i + 1 }), onclick: () => {
            label.remove();
            addBtn.disabled = picks.querySelectorAll('select').length >= MAX_SYNC;
          } }, '×');
    const label = h('span', { class: 'pb-pick-camera' }, sel, remove);
    picks.append(label);
  };
  const addBtn = h('button', { type: 'button', id: 'pb-add', class: 'ghost', onclick: () => {
    const n = picks.querySelectorAll('select').length;
    if (n < MAX_SYNC) addPick('', n);
    addBtn.disabled = n + 1 >= MAX_SYNC;
  } }, t('pb.add_camera')) as HTMLButtonElement;
  (pb.cameras.length ? pb.cameras : ['']).forEach((c, i) => addPick(c, i));
  addBtn.disabled = pb.cameras.length >= MAX_SYNC || recorded.length < 2;

  const when = h('input', { id: 'pb-time', type: 'datetime-local', step: 1, value: localInput(target), 'aria-label': t('pb.time') }) as HTMLInputElement;
  const go = h(
    'form',
    {
      class: 'inline-form pb-pick',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const chosen = [...picks.querySelectorAll<HTMLSelectElement>('select')].map((s) => s.value).filter(Boolean);
        pb.cameras = [...new Set(chosen)];
        const ms = new Date(when.value).getTime();
        if (Number.isFinite(ms)) void load(ms).catch(onError);
      },
    },
    h('label', {}, t('pb.camera'), ' ', picks),
    addBtn,
    h('label', {}, t('pb.time'), ' ', when),
    h('button', { type: 'submit' }, t('pb.go')),
  );
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
  root.replaceChildren(
    h('div', { class: 'wall-tools' }, go, h('div', { class: 'pb-controls' }, play, speeds, h('span', { id: 'pb-clock', class: 'tile-clock', 'aria-live': 'off' }, '—'))),
    h('div', { class: 'pb-range' }, h('span', { id: 'pb-from' }), h('span', { id: 'pb-to' })),
    bar,
    h('div', { id: 'pb-grid', class: 'pb-grid' }, h('div', { class: 'tile-screen pb-screen' }, h('span', { class: 'tile-state', id: 'pb-state' }, recorded.length ? '' : t('pb.none')))),
    h('p', { class: 'muted' }, t('pb.help')),
  );
  if (pb.cameras.length) await load(target);
}

/** Leaving the view: stops, frees the segments' bytes. */
export function leavePlayback(): void {
  pb.gen++;
  pb.clock?.stop();
  pb.clock = null;
}

function screen(cam: string, i: number): HTMLElement {
  const v = h('video', {
    id: i === 0 ? 'pb-video' : `pb-video-${i + 1}`,
    class: 'pb-video',
    muted: true,
    playsinline: true,
    'data-camera': cam,
    'aria-label': t('pb.video_of', { name: cameraName(cam) }),
  }) as HTMLVideoElement;
  v.muted = true;
  return h(
    'div',
    { class: 'tile-screen pb-screen', 'data-camera': cam },
    v,
    h('span', { class: 'tile-name' }, cameraName(cam)),
    h('span', { class: 'pb-where', 'data-camera': cam, hidden: true }),
    h('span', { class: 'tile-state', id: i === 0 ? 'pb-state' : undefined }, t('pb.loading')),
  );
}

/** Shows a player's state over its video. */
function paintState(p: RecordedPlayer): void {
  const s = p.video.parentElement?.querySelector('.tile-state');
  if (!s) return;
  s.textContent = stateText(p.state);
}

/** Loads the window around `at` (a third before, two thirds after) for every camera and plays from it. */
async function load(at: number): Promise<void> {
  const gen = ++pb.gen;
  pb.clock?.stop();
  pb.from = at - WINDOW_MS / 3;
  const to = pb.from + WINDOW_MS;
  const grid = $('#pb-grid');
  grid.dataset.count = String(pb.cameras.length);
  grid.replaceChildren(...pb.cameras.map((c, i) => screen(c, i)));
  const players = pb.cameras.map((c) => new RecordedPlayer(c, grid.querySelector<HTMLVideoElement>(`video[data-camera="${CSS.escape(c)}"]`)!, paintState));
  const q = `from=${encodeURIComponent(iso(pb.from))}&to=${encodeURIComponent(iso(to))}`;
  const dets = await Promise.all(
    pb.cameras.map((c) => req<StoredDetection[]>('GET', `/api/v1/detections?sensor=${encodeURIComponent(c)}&${q}&limit=1000`).catch(() => [] as StoredDetection[])),
  );
  const mobile = pb.cameras.filter((c) => state.sensors.find((s) => s.id === c)?.mobile);
  const tracks = await Promise.all(mobile.map((c) => trackOf(c, pb.from, to).catch(() => [] as Fix[])));
  await Promise.all(players.map((p) => p.load(pb.from, to)));
  if (gen !== pb.gen) return players.forEach((p) => p.close());
  pb.dets = new Map(pb.cameras.map((c, i) => [c, dets[i]]));
  pb.tracks = new Map(mobile.map((c, i) => [c, tracks[i]]));
  $('#pb-from').textContent = fmtTime(pb.from);
  $('#pb-to').textContent = fmtTime(to);
  const clock = new SyncClock(at);
  clock.players = players;
  clock.speed = pb.speed;
  clock.onTick = () => paintHead();
  clock.onEnd = () => {
    const s = document.querySelector('#pb-state');
    if (s) s.textContent = t('pb.end');
    paintPlay();
  };
  pb.clock = clock;
  paintBar();
  if (!players.some((p) => p.covering(at) || p.nextStart(at) !== null)) {
    for (const p of players) {
      const s = p.video.parentElement?.querySelector('.tile-state');
      if (s) s.textContent = t('pb.nothing');
    }
    clock.playing = false;
    return;
  }
  // From a time nothing covers, start at the first recording after it.
  if (!players.some((p) => p.covering(at))) clock.at = Math.min(...players.map((p) => p.nextStart(at) ?? Infinity));
  clock.start();
  paintPlay();
}

function paintBar(): void {
  const bar = $('#pb-timeline');
  const pct = (ms: number) => `${Math.min(100, Math.max(0, ((ms - pb.from) / WINDOW_MS) * 100))}%`;
  const players = pb.clock?.players ?? [];
  const lanes = players.map((p, i) => {
    const spans = p.segs.map((s) => {
      const e = h('div', { class: 'pb-span', 'data-segment': s.id });
      e.style.left = pct(s.s);
      e.style.width = `calc(${pct(s.e)} - ${pct(s.s)})`;
      return e;
    });
    const marks = (pb.dets.get(p.camera) ?? []).map((d) => {
      const e = h('div', { class: 'pb-mark', 'data-detection': d.id, title: `${cameraName(p.camera)} · ${kindLabel(d.kind)} · ${fmtTime(Date.parse(d.time))}` });
      e.style.left = pct(Date.parse(d.time));
      return e;
    });
    const lane = h('div', { class: 'pb-lane', 'data-camera': p.camera, title: cameraName(p.camera) }, ...spans, ...marks);
    lane.style.top = `${(i / players.length) * 100}%`;
    lane.style.height = `${100 / players.length}%`;
    return lane;
  });
  bar.dataset.lanes = String(players.length);
  bar.replaceChildren(...lanes, h('div', { class: 'pb-head', id: 'pb-head' }));
  paintHead();
}

function paintHead(): void {
  const now = playbackTime();
  const head = document.querySelector<HTMLElement>('#pb-head');
  const bar = document.querySelector<HTMLElement>('#pb-timeline');
  if (!head || !bar) return;
  head.hidden = now === null;
  paintPlay();
  if (now === null) return;
  head.style.left = `${Math.min(100, Math.max(0, ((now - pb.from) / WINDOW_MS) * 100))}%`;
  bar.setAttribute('aria-valuenow', String(Math.round((now - pb.from) / 1000)));
  bar.setAttribute('aria-valuetext', fmtTime(now));
  $('#pb-clock').textContent = fmtTime(now);
  paintWhere(now);
  bar.dataset.at = String(Math.round(now));
  // Past the window's end: the window moves on with the clock.
  if (now > pb.from + WINDOW_MS) {
    pb.from = now - WINDOW_MS / 3;
    paintBar();
  }
}

/** A mobile camera's position at the moment shown, over its video. */
function paintWhere(now: number): void {
  for (const [cam, fixes] of pb.tracks) {
    const el = document.querySelector<HTMLElement>(`#pb-grid .pb-where[data-camera="${CSS.escape(cam)}"]`);
    if (!el) continue;
    const p = positionAt(fixes, now);
    el.hidden = false;
    el.dataset.lat = p ? p.lat.toFixed(6) : '';
    el.dataset.lon = p ? p.lon.toFixed(6) : '';
    const text = p
      ? t('pb.where', { lat: p.lat.toFixed(5), lon: p.lon.toFixed(5), heading: p.heading === undefined ? '—' : `${Math.round(p.heading)}°` })
      : t('pb.where_unknown');
    if (el.textContent !== text) el.textContent = text;
  }
}

function paintPlay(): void {
  const b = document.querySelector('#pb-play');
  if (!b) return;
  const on = !!pb.clock?.playing;
  const label = on ? t('pb.pause') : t('pb.play');
  if (b.textContent !== label) b.textContent = label;
  b.setAttribute('aria-pressed', String(on));
}

function togglePlay(): void {
  const c = pb.clock;
  if (!c) return;
  c.setPlaying(!c.playing);
  paintPlay();
}

function setSpeed(s: number): void {
  pb.speed = s;
  pb.clock?.setSpeed(s);
  for (const b of document.querySelectorAll<HTMLElement>('#pb-speeds button')) b.setAttribute('aria-pressed', String(Number(b.dataset.speed) === s));
}

function seek(at: number): void {
  const c = pb.clock;
  if (!c) return;
  if (at < pb.from || at > pb.from + WINDOW_MS) {
    void load(at).catch(onError);
    return;
  }
  c.seek(at);
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
    seek(at(u.clientX));
  };
  window.addEventListener('pointermove', move);
  window.addEventListener('pointerup', up);
  move(e);
}

function barKey(e: KeyboardEvent): void {
  const now = playbackTime() ?? pb.from;
  const step = e.shiftKey ? 60_000 : STEP_MS;
  const segs = pb.clock?.players.flatMap((p) => p.segs) ?? [];
  let to: number | null = null;
  if (e.key === 'ArrowLeft') to = now - step;
  else if (e.key === 'ArrowRight') to = now + step;
  else if (e.key === 'Home') to = pb.from;
  else if (e.key === 'End') to = segs.length ? Math.max(...segs.map((s) => s.s)) : null;
  else if (e.key === ' ') {
    togglePlay();
    e.preventDefault();
    e.stopPropagation();
    return;
  } else return;
  e.preventDefault();
  e.stopPropagation();
  if (to !== null) seek(to);
}
