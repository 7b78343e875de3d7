// The video wall: a grid of 1, 4, 9 or 16 live tiles. Each tile plays one camera's masked
// fragmented MP4 from `GET /api/v1/live/{camera}` (WebSocket, an audited read) with Media
// Source Extensions, close to the live edge. Layouts are saved per person on the hub
// (`/api/v1/wall/layouts`). Leaving the view or closing a tile closes its socket.
import { api } from './api';
import { t } from './i18n';
import { state } from './state';
import type { LiveCamera, WallLayout } from './types/wall';
import { Feeder } from './wall-feed';
import { parseFragment, parseInit, type TrackInfo } from './fmp4';
import { RecordedPlayer, SyncClock, stateText } from './recorded';
import { $, clock, dateTime, h } from './util';

export type Grid = 1 | 4 | 9 | 16;
const GRIDS: Grid[] = [1, 4, 9, 16];
const LAST_KEY = 'vigie.wall.last';

interface Layout {
  grid: Grid;
  tiles: (string | null)[];
}

/** A tour: saved layouts shown in turn, each for `dwell_s` seconds. Saved like a layout. */
interface Tour {
  layouts: string[];
  dwell_s: number;
}
const DWELL_DEFAULT_S = 20;
const DWELL_MIN_S = 5;
const DWELL_MAX_S = 600;
/** Recordings loaded around the wall's time: 5 minutes before, 30 after (ms). */
const RECORDED_BEFORE_MS = 5 * 60_000;
const RECORDED_AFTER_MS = 30 * 60_000;

/** Stay within this of the live edge (seconds). */
const MAX_LATENCY_S = 1.2;
/** Frames waiting for the decoder beyond which it skips to the next keyframe. */
const MAX_DECODE_QUEUE = 8;

type Info = { masked?: boolean; time?: string; state?: string };
type Why = 'unsupported' | 'error';

/** Where a tile's bytes go: a SourceBuffer (MSE), or a WebCodecs decoder drawing a canvas. */
interface Sink {
  init(mime: string, segment: ArrayBuffer): void;
  data(fragment: ArrayBuffer): void;
  tick(): void;
  close(): void;
}

/** Media Source Extensions: the fragments appended as they come, the playhead kept near the
 *  live edge. The MediaSource attaches by a `blob:` URL, which the page's
 *  Content-Security-Policy must allow (`media-src blob:`). */
class MseSink implements Sink {
  private readonly feeder: Feeder;
  private readonly url: string;
  private lastTimePost = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    onError: (why: Why) => void,
  ) {
    const ms = new MediaSource();
    this.feeder = new Feeder(ms, onError);
    this.url = URL.createObjectURL(ms);
    video.src = this.url;
  }

  init(mime: string, segment: ArrayBuffer): void {
    this.feeder.init(mime);
    this.feeder.data(segment);
  }

  data(fragment: ArrayBuffer): void {
    this.feeder.data(fragment);
  }

  tick(): void {
    const v = this.video;
    const b = v.buffered;
    if (!b.length) return;
    const start = b.start(0);
    const end = b.end(b.length - 1);
    if (v.currentTime < start || end - v.currentTime > MAX_LATENCY_S) v.currentTime = Math.max(start, end - 0.2);
    if (v.paused) void v.play().catch(() => undefined);
    const now = performance.now();
    if (now - this.lastTimePost > 1000) {
      this.lastTimePost = now;
      this.feeder.time(v.currentTime);
    }
  }

  close(): void {
    this.feeder.close();
    URL.revokeObjectURL(this.url);
    this.video.removeAttribute('src');
    this.video.load();
  }
}

/** WebCodecs: the fragments' samples decoded as they come and drawn into a canvas, whose
 *  stream the video element plays (`srcObject`: no media URL). Always at the live edge:
 *  when the decoder falls behind, it skips to the next keyframe. */
class CodecSink implements Sink {
  private decoder: VideoDecoder | null = null;
  private track: TrackInfo | null = null;
  private readonly canvas = document.createElement('canvas');
  private readonly ctx: CanvasRenderingContext2D | null;
  private stream: MediaStream | null = null;
  private needKey = true;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly onError: (why: Why) => void,
  ) {
    this.ctx = this.canvas.getContext('2d', { alpha: false });
  }

  init(mime: string, segment: ArrayBuffer): void {
    if (this.decoder) return; // a recorder restart sends the same track again
    const track = parseInit(segment);
    const codec = /codecs="?([^",]+)/.exec(mime)?.[1];
    if (!track || !codec || !this.ctx) return this.onError('unsupported');
    this.track = track;
    this.canvas.width = track.width;
    this.canvas.height = track.height;
    this.decoder = new VideoDecoder({
      output: (frame) => {
        if (this.canvas.width !== frame.displayWidth || this.canvas.height !== frame.displayHeight) {
          this.canvas.width = frame.displayWidth;
          this.canvas.height = frame.displayHeight;
        }
        this.ctx?.drawImage(frame, 0, 0, this.canvas.width, this.canvas.height);
        frame.close();
      },
      error: () => this.onError('error'),
    });
    try {
      this.decoder.configure({ codec, description: track.description, optimizeForLatency: true });
    } catch {
      return this.onError('unsupported');
    }
    this.stream = this.canvas.captureStream();
    this.video.srcObject = this.stream;
    void this.video.play().catch(() => undefined);
  }

  data(fragment: ArrayBuffer): void {
    const d = this.decoder;
    const track = this.track;
    if (!d || !track || d.state !== 'configured') return;
    for (const s of parseFragment(fragment, track)) {
      if (!s.key && (this.needKey || d.decodeQueueSize > MAX_DECODE_QUEUE)) {
        this.needKey = true;
        continue;
      }
      this.needKey = false;
      d.decode(
        new EncodedVideoChunk({
          type: s.key ? 'key' : 'delta',
          timestamp: Math.round((s.time * 1e6) / track.timescale),
          duration: Math.round((s.duration * 1e6) / track.timescale),
          data: s.data,
        }),
      );
    }
  }

  tick(): void {
    if (this.stream && this.video.paused) void this.video.play().catch(() => undefined);
  }

  close(): void {
    try {
      if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    } catch {
      /* closed */
    }
    this.decoder = null;
    for (const tr of this.stream?.getTracks() ?? []) tr.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}

let how: Promise<'mse' | 'webcodecs' | 'none'> | null = null;

/** MSE where the page's Content-Security-Policy lets a MediaSource attach (`media-src` with
 *  `blob:`), else WebCodecs. The hub's policy is read from the page's own headers. */
function playback(): Promise<'mse' | 'webcodecs' | 'none'> {
  how ??= (async () => {
    const mse = 'MediaSource' in window;
    const codecs = 'VideoDecoder' in window && 'captureStream' in HTMLCanvasElement.prototype;
    let blobMedia = true;
    try {
      const csp = (await fetch(location.pathname, { credentials: 'same-origin', cache: 'no-store' })).headers.get('content-security-policy');
      if (csp) {
        const rule = csp.split(';').map((x) => x.trim().split(/\s+/)).find((x) => x[0] === 'media-src') ?? csp.split(';').map((x) => x.trim().split(/\s+/)).find((x) => x[0] === 'default-src');
        blobMedia = !rule || rule.includes('blob:');
      }
    } catch {
      /* unknown: try MSE */
    }
    if (mse && (blobMedia || !codecs)) return 'mse';
    return codecs ? 'webcodecs' : 'none';
  })();
  return how;
}

/** One tile's player: WebSocket → sink → the video element; reconnects when the stream ends. */
class TilePlayer {
  private ws: WebSocket | null = null;
  private sink: Sink | null = null;
  private mime = '';
  private closed = false;
  private retry = 0;
  private timer = 0;

  constructor(
    readonly camera: string,
    private readonly video: HTMLVideoElement,
    private readonly onInfo: (info: Info) => void,
  ) {
    void this.open();
  }

  private async open(): Promise<void> {
    const mode = await playback();
    if (this.closed) return;
    if (mode === 'none') return this.failed('unsupported');
    const onError = (why: Why) => this.failed(why);
    this.sink = mode === 'mse' ? new MseSink(this.video, onError) : new CodecSink(this.video, onError);
    this.video.dataset.playback = mode;
    this.connect();
    this.timer = window.setInterval(() => this.tick(), 250);
  }

  failed(why: Why): void {
    if (why === 'unsupported') {
      this.onInfo({ state: 'unsupported' });
      this.closed = true;
      this.teardown();
    } else this.restart();
  }

  private connect(): void {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/live/${encodeURIComponent(this.camera)}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.onInfo({ state: 'connecting' });
    ws.onmessage = (ev) => {
      if (this.ws !== ws || !this.sink) return;
      if (typeof ev.data !== 'string') {
        const buf = ev.data as ArrayBuffer;
        // The binary message after each init message is the init segment.
        if (this.mime) this.sink.init(this.mime, buf);
        else this.sink.data(buf);
        this.mime = '';
        return;
      }
      let m: { type?: string; mime?: string; masked?: boolean; time?: string };
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m.type === 'init' && m.mime) {
        this.onInfo({ masked: !!m.masked });
        this.mime = m.mime;
      } else if (m.type === 'time' && m.time) this.onInfo({ time: m.time });
    };
    ws.onclose = () => {
      if (this.closed || this.ws !== ws) return;
      this.onInfo({ state: 'ended' });
      this.restart();
    };
  }

  private tick(): void {
    const v = this.video;
    if (v.error) return this.restart();
    this.sink?.tick();
    if (v.readyState >= 2 && !v.paused && v.videoWidth > 0) this.onInfo({ state: 'playing' });
  }

  private restart(): void {
    if (this.closed) return;
    this.teardown();
    this.retry = window.setTimeout(() => void this.open(), 3000);
  }

  private teardown(): void {
    clearTimeout(this.retry);
    clearInterval(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
    this.sink?.close();
    this.sink = null;
    this.mime = '';
  }

  close(): void {
    this.closed = true;
    this.teardown();
  }
}

let layout: Layout = { grid: 4, tiles: [null, null, null, null] };
let cameras: { id: string; name: string }[] = [];
let live = new Map<string, LiveCamera>();
const players = new Map<number, TilePlayer>();
let liveTimer = 0;
let active = false;
let report: (e: unknown) => void = () => undefined;
/** Set while the wall plays recordings at a moment (an incident's) instead of live. */
let recorded: SyncClock | null = null;
/** Bumped when the recorded clock is replaced: a late segment list is dropped. */
let recordedGen = 0;
let saved: WallLayout[] = [];
let tour: { name: string; steps: WallLayout[]; i: number; dwell: number; left: number; paused: boolean; timer: number } | null = null;

function isLive(id: string | null): boolean {
  return !!id && !!live.get(id)?.publishing;
}

function cameraName(id: string): string {
  return cameras.find((c) => c.id === id)?.name ?? id;
}

/** A camera in a tile's list: marked when a recorder publishes it live (not while the wall
 *  plays recordings). */
function cameraLabel(id: string): string {
  return !recorded && isLive(id) ? `● ${cameraName(id)} (${t('wall.live')})` : cameraName(id);
}

/** The smallest grid holding `n` tiles. */
function gridFor(n: number): Grid {
  return GRIDS.find((g) => g >= n) ?? 16;
}

function resize(grid: Grid): void {
  const tiles = layout.tiles.slice(0, grid);
  while (tiles.length < grid) tiles.push(null);
  layout = { grid, tiles };
}

function remember(name: string | null): void {
  try {
    if (name) localStorage.setItem(LAST_KEY, name);
    else localStorage.removeItem(LAST_KEY);
  } catch {
    /* private mode */
  }
}

function lastName(): string | null {
  try {
    return localStorage.getItem(LAST_KEY);
  } catch {
    return null;
  }
}

function isTour(l: WallLayout): boolean {
  return typeof l.layout?.tour === 'object' && l.layout.tour !== null;
}

function tourOf(l: WallLayout): Tour {
  const x = l.layout.tour as Partial<Tour>;
  const dwell = Number(x.dwell_s);
  return {
    layouts: Array.isArray(x.layouts) ? x.layouts.filter((n): n is string => typeof n === 'string') : [],
    dwell_s: Number.isFinite(dwell) ? Math.min(DWELL_MAX_S, Math.max(DWELL_MIN_S, Math.round(dwell))) : DWELL_DEFAULT_S,
  };
}

/** Starts or stops each tile's live player to match the layout and who is live. */
function syncPlayers(): void {
  for (const [i, p] of players) {
    const want = active && !recorded && layout.tiles[i] === p.camera && isLive(p.camera);
    if (!want) {
      p.close();
      players.delete(i);
    }
  }
  if (!active || recorded) return;
  layout.tiles.forEach((cam, i) => {
    if (!cam || players.has(i) || !isLive(cam)) return;
    const tile = document.querySelector<HTMLElement>(`#wall-grid .tile[data-tile="${i}"]`);
    const video = tile?.querySelector('video');
    if (!tile || !video) return;
    players.set(i, new TilePlayer(cam, video, (info) => tileInfo(tile, info)));
  });
  for (const tile of document.querySelectorAll<HTMLElement>('#wall-grid .tile')) {
    const cam = layout.tiles[Number(tile.dataset.tile)];
    if (cam && !isLive(cam)) tileInfo(tile, { state: 'offline' });
  }
}

function tileInfo(tile: HTMLElement, info: Info): void {
  if (info.masked !== undefined) {
    const b = $('.badge-masked', tile);
    b.hidden = false;
    b.dataset.masked = String(info.masked);
    b.textContent = info.masked ? t('wall.masked') : t('wall.unmasked');
  }
  if (info.time) $('.tile-clock', tile).textContent = clock(info.time);
  if (info.state && tile.dataset.state !== info.state) {
    tile.dataset.state = info.state;
    $('.tile-state', tile).textContent = info.state === 'playing' ? '' : t('wall.state.' + info.state);
  }
}

/** A recorded tile's state, shown over its video. */
function recordedInfo(p: RecordedPlayer): void {
  const tile = p.video.closest<HTMLElement>('.tile');
  if (!tile) return;
  tile.dataset.state = p.state;
  $('.tile-state', tile).textContent = stateText(p.state);
  if (p.cur) {
    const b = $('.badge-masked', tile);
    b.hidden = false;
    b.dataset.masked = String(p.cur.masked);
    b.textContent = p.cur.masked ? t('wall.masked') : t('wall.unmasked');
  }
}

function renderTile(i: number): HTMLElement {
  const cam = layout.tiles[i];
  const n = i + 1;
  const select = h(
    'select',
    { class: 'tile-camera', 'aria-label': t('wall.tile_camera', { n }) },
    h('option', { value: '' }, t('wall.none')),
    ...cameras.map((c) =>
      h('option', { value: c.id, selected: c.id === cam }, cameraLabel(c.id)),
    ),
  ) as HTMLSelectElement;
  select.addEventListener('change', () => {
    stopTour();
    layout.tiles[i] = select.value || null;
    renderGrid();
  });
  const close = h('button', { type: 'button', class: 'tile-close', 'aria-label': t('wall.close_tile', { n }), title: t('wall.close_tile', { n }) }, '×');
  close.addEventListener('click', () => {
    stopTour();
    layout.tiles[i] = null;
    renderGrid();
    (document.querySelector(`#wall-grid .tile[data-tile="${i}"] select`) as HTMLElement | null)?.focus();
  });
  const label = recorded ? t('wall.recorded_video', { name: cam ? cameraName(cam) : '' }) : t('wall.video', { name: cam ? cameraName(cam) : '' });
  const tile = h(
    'div',
    { class: 'tile', role: 'group', 'data-tile': i, 'data-camera': cam ?? '', 'aria-label': cam ? `${t('wall.tile', { n })} — ${cameraName(cam)}` : t('wall.tile', { n }) },
    h('div', { class: 'tile-bar' }, select, h('span', { class: 'badge-masked', hidden: true }), h('span', { class: 'tile-clock' }), cam ? close : null),
    cam
      ? h('div', { class: 'tile-screen' },
          h('video', { muted: true, playsinline: true, autoplay: !recorded, disablepictureinpicture: true, 'data-camera': cam, 'aria-label': label }),
          h('span', { class: 'tile-name' }, cameraName(cam)),
          h('span', { class: 'tile-state', role: 'status' }, ''))
      : h('div', { class: 'tile-screen empty' }, h('span', { class: 'tile-state' }, t('wall.pick'))),
  );
  const video = tile.querySelector('video');
  if (video) video.muted = true;
  return tile;
}

function renderGrid(): void {
  for (const p of players.values()) p.close();
  players.clear();
  const grid = $('#wall-grid');
  grid.dataset.grid = String(layout.grid);
  grid.dataset.mode = recorded ? 'recorded' : 'live';
  grid.replaceChildren(...layout.tiles.map((_, i) => renderTile(i)));
  for (const b of document.querySelectorAll<HTMLElement>('#wall-grids button')) {
    b.setAttribute('aria-pressed', String(Number(b.dataset.grid) === layout.grid));
  }
  if (recorded) void playRecorded(recorded.at).catch(report);
  else syncPlayers();
  paintModeBar();
}

/** The recorded tiles: one clock over every camera of the layout, from `at`. */
async function playRecorded(at: number): Promise<void> {
  const gen = ++recordedGen;
  const was = recorded;
  was?.stop();
  const c = new SyncClock(at);
  c.playing = was?.playing ?? true;
  recorded = c;
  const ps: RecordedPlayer[] = [];
  for (const v of document.querySelectorAll<HTMLVideoElement>('#wall-grid .tile video[data-camera]')) {
    ps.push(new RecordedPlayer(v.dataset.camera ?? '', v, recordedInfo));
  }
  await Promise.all(ps.map((p) => p.load(at - RECORDED_BEFORE_MS, at + RECORDED_AFTER_MS).catch(() => undefined)));
  if (gen !== recordedGen || recorded !== c) return ps.forEach((p) => p.close());
  c.players = ps;
  c.onTick = (now) => {
    const text = clock(new Date(now).toISOString());
    for (const tile of document.querySelectorAll<HTMLElement>('#wall-grid .tile:not([data-camera=""])')) {
      const cl = tile.querySelector('.tile-clock');
      if (cl && cl.textContent !== text) cl.textContent = text;
    }
    const at = document.querySelector<HTMLElement>('#wall-at-time');
    if (at) {
      at.textContent = dateTime(new Date(now).toISOString());
      at.dataset.at = String(Math.round(now));
    }
    paintRecordedPlay();
  };
  c.onEnd = () => paintRecordedPlay();
  c.start();
}

function paintRecordedPlay(): void {
  const b = document.querySelector<HTMLElement>('#wall-at-play');
  if (!b || !recorded) return;
  const label = recorded.playing ? t('pb.pause') : t('pb.play');
  if (b.textContent !== label) b.textContent = label;
  b.setAttribute('aria-pressed', String(recorded.playing));
}

/** The bar above the grid: the moment played (recorded mode), or the running tour. */
function paintModeBar(): void {
  const bar = document.querySelector<HTMLElement>('#wall-mode');
  if (!bar) return;
  if (recorded) {
    const play = h('button', { type: 'button', id: 'wall-at-play', 'aria-pressed': 'true', onclick: () => {
      if (!recorded) return;
      recorded.setPlaying(!recorded.playing);
      paintRecordedPlay();
    } }, t('pb.pause'));
    const back = h('button', { type: 'button', id: 'wall-live', onclick: () => backToLive() }, t('wall.back_live'));
    bar.hidden = false;
    bar.replaceChildren(
      h('span', { class: 'wall-mode-label' }, t('wall.recorded_at'), ' ', h('strong', { id: 'wall-at-time', 'data-at': String(Math.round(recorded.at)) }, dateTime(new Date(recorded.at).toISOString()))),
      play,
      back,
    );
    paintRecordedPlay();
    return;
  }
  if (tour) {
    const step = tour.steps[tour.i];
    const pause = h('button', { type: 'button', id: 'wall-tour-pause', 'aria-pressed': String(tour.paused), onclick: () => {
      if (!tour) return;
      tour.paused = !tour.paused;
      paintModeBar();
    } }, tour.paused ? t('wall.tour_resume') : t('wall.tour_pause'));
    const stop = h('button', { type: 'button', id: 'wall-tour-stop', onclick: () => stopTour() }, t('wall.tour_stop'));
    bar.hidden = false;
    bar.replaceChildren(
      h('span', { id: 'wall-tour-status', class: 'wall-mode-label', 'data-tour': tour.name, 'data-step': String(tour.i), 'data-layout': step?.name ?? '' },
        t('wall.tour_status', { name: tour.name, n: tour.i + 1, of: tour.steps.length, layout: step?.name ?? '', s: tour.left })),
      pause,
      stop,
    );
    return;
  }
  bar.hidden = true;
  bar.replaceChildren();
}

function backToLive(): void {
  recordedGen++;
  recorded?.stop();
  recorded = null;
  renderGrid();
  void refreshLive().catch(report);
}

/** Opens cameras on the wall at a moment: a tile each, playing their recordings in step. */
export function openOnWall(cams: string[], at: number): void {
  stopTour();
  const list = cams.slice(0, 16);
  const grid = gridFor(list.length);
  layout = { grid, tiles: [...list, ...Array<null>(grid - list.length).fill(null)] };
  recordedGen++;
  recorded?.stop();
  recorded = new SyncClock(at);
  const name = document.querySelector<HTMLInputElement>('#wall-name');
  if (name) name.value = '';
  renderGrid();
}

async function refreshLive(): Promise<void> {
  const list = await api.live();
  const before = [...live.values()].filter((c) => c.publishing).map((c) => c.camera).sort().join();
  live = new Map(list.map((c) => [c.camera, c]));
  const now = list.filter((c) => c.publishing).map((c) => c.camera).sort().join();
  if (before !== now && !recorded) {
    // Who is live changed: the camera lists mark it, the tiles start or stop.
    for (const sel of document.querySelectorAll<HTMLSelectElement>('#wall-grid select.tile-camera')) {
      for (const o of sel.options) {
        if (o.value) o.textContent = cameraLabel(o.value);
      }
    }
    syncPlayers();
  }
}

async function renderLayouts(): Promise<void> {
  saved = await api.wallLayouts();
  const layouts = saved.filter((l) => !isTour(l));
  const tours = saved.filter(isTour);
  const del = (l: WallLayout, label: string) => {
    const b = h('button', { type: 'button', 'data-action': 'delete', 'aria-label': label }, t('wall.delete'));
    b.addEventListener('click', async () => {
      try {
        await api.deleteWallLayout(l.name);
        if (lastName() === l.name) remember(null);
        if (tour?.name === l.name) stopTour();
        await renderLayouts();
      } catch (e) {
        report(e);
      }
    });
    return b;
  };
  $('#wall-layouts').replaceChildren(
    ...(layouts.length
      ? layouts.map((l) => {
          const load = h('button', { type: 'button', 'data-action': 'load', 'aria-label': t('wall.load_named', { name: l.name }) }, t('wall.load'));
          load.addEventListener('click', () => {
            stopTour();
            loadLayout(l);
            report('');
          });
          return h('li', { 'data-layout': l.name }, h('span', { class: 'layout-name' }, l.name), ' ', load, ' ', del(l, t('wall.delete_named', { name: l.name })));
        })
      : [h('li', { class: 'sub' }, t('wall.no_layouts'))]),
  );
  $('#wall-tours').replaceChildren(
    ...(tours.length
      ? tours.map((l) => {
          const x = tourOf(l);
          const start = h('button', { type: 'button', 'data-action': 'start', 'aria-label': t('wall.tour_start_named', { name: l.name }) }, t('wall.tour_start'));
          start.addEventListener('click', () => startTour(l.name));
          return h('li', { 'data-tour': l.name },
            h('span', { class: 'layout-name' }, l.name, h('span', { class: 'sub' }, ` · ${x.layouts.length} × ${x.dwell_s} s`)),
            ' ', start, ' ', del(l, t('wall.delete_tour_named', { name: l.name })));
        })
      : [h('li', { class: 'sub' }, t('wall.no_tours'))]),
  );
  // The tour form offers the saved layouts, in order.
  const picks = $('#wall-tour-layouts');
  const checked = new Set([...picks.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value));
  picks.replaceChildren(
    ...(layouts.length
      ? layouts.map((l) =>
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'tour-layout', value: l.name, checked: checked.has(l.name) }), ' ', l.name))
      : [h('span', { class: 'sub' }, t('wall.tour_needs_layouts'))]),
  );
}

function loadLayout(l: WallLayout, keep = true): void {
  const g = Number(l.layout?.grid);
  const grid: Grid = (GRIDS as number[]).includes(g) ? (g as Grid) : 4;
  const tiles = Array.isArray(l.layout?.tiles) ? l.layout.tiles.map((x: unknown) => (typeof x === 'string' ? x : null)) : [];
  layout = { grid, tiles };
  resize(grid);
  recordedGen++;
  recorded?.stop();
  recorded = null;
  if (keep) {
    ($('#wall-name') as HTMLInputElement).value = l.name;
    remember(l.name);
  }
  renderGrid();
}

/** Starts the tour `name`: its layouts in turn, live. */
function startTour(name: string): void {
  const l = saved.find((x) => x.name === name && isTour(x));
  if (!l) return;
  const x = tourOf(l);
  const steps = x.layouts.map((n) => saved.find((s) => s.name === n && !isTour(s))).filter((s): s is WallLayout => !!s);
  if (!steps.length) {
    report(t('wall.tour_empty', { name }));
    return;
  }
  stopTour();
  tour = { name, steps, i: 0, dwell: x.dwell_s, left: x.dwell_s, paused: false, timer: 0 };
  loadLayout(steps[0], false);
  tour.timer = window.setInterval(() => {
    if (!tour || tour.paused) return;
    tour.left -= 1;
    if (tour.left <= 0) {
      tour.i = (tour.i + 1) % tour.steps.length;
      tour.left = tour.dwell;
      loadLayout(tour.steps[tour.i], false);
    } else paintModeBar();
  }, 1000);
  paintModeBar();
  report('');
}

function stopTour(): void {
  if (!tour) return;
  clearInterval(tour.timer);
  tour = null;
  paintModeBar();
}

function build(): void {
  const root = $('#wall');
  const grids = h(
    'div',
    { id: 'wall-grids', role: 'group', 'aria-label': t('wall.grid') },
    h('span', { class: 'sub' }, t('wall.grid')),
    ...GRIDS.map((g) => {
      const b = h('button', { type: 'button', 'data-grid': g, 'aria-pressed': String(g === layout.grid), 'aria-label': t('wall.grid_n', { n: g }) }, `${g}`);
      b.addEventListener('click', () => {
        stopTour();
        resize(g);
        renderGrid();
      });
      return b;
    }),
  );
  const form = h(
    'form',
    { id: 'wall-save', class: 'inline-form' },
    h('label', {}, h('span', {}, t('wall.layout_name')), h('input', { id: 'wall-name', required: true, maxlength: 64, size: 20, autocomplete: 'off' })),
    h('button', { type: 'submit' }, t('wall.save')),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ($('#wall-name') as HTMLInputElement).value.trim();
    if (!name) return;
    try {
      await api.saveWallLayout(name, { grid: layout.grid, tiles: layout.tiles });
      remember(name);
      report(t('wall.saved', { name }));
      await renderLayouts();
    } catch (e) {
      report(e);
    }
  });
  const tourForm = h(
    'form',
    { id: 'wall-tour-form', class: 'wall-tour-form' },
    h('label', {}, h('span', {}, t('wall.tour_name')), h('input', { id: 'wall-tour-name', required: true, maxlength: 64, size: 16, autocomplete: 'off' })),
    h('label', {}, h('span', {}, t('wall.tour_dwell')),
      h('input', { id: 'wall-tour-dwell', type: 'number', min: DWELL_MIN_S, max: DWELL_MAX_S, step: 1, value: DWELL_DEFAULT_S, required: true })),
    h('fieldset', {}, h('legend', {}, t('wall.tour_layouts')), h('div', { id: 'wall-tour-layouts', class: 'wall-tour-layouts' })),
    h('button', { type: 'submit' }, t('wall.tour_save')),
  );
  tourForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ($('#wall-tour-name') as HTMLInputElement).value.trim();
    const dwell = Number(($('#wall-tour-dwell') as HTMLInputElement).value);
    const layouts = [...document.querySelectorAll<HTMLInputElement>('#wall-tour-layouts input:checked')].map((i) => i.value);
    if (!name) return;
    if (!layouts.length) return report(t('wall.tour_pick'));
    if (saved.some((l) => l.name === name && !isTour(l))) return report(t('wall.tour_name_taken', { name }));
    try {
      await api.saveWallLayout(name, { tour: { layouts, dwell_s: Math.min(DWELL_MAX_S, Math.max(DWELL_MIN_S, Math.round(dwell))) } });
      report(t('wall.tour_saved', { name }));
      ($('#wall-tour-name') as HTMLInputElement).value = '';
      await renderLayouts();
    } catch (e) {
      report(e);
    }
  });
  root.replaceChildren(
    h('div', { class: 'wall-tools' }, grids, form),
    h('div', { id: 'wall-mode', class: 'wall-mode', hidden: true }),
    h('div', { class: 'wall-body' },
      h('div', { id: 'wall-grid', class: 'wall-grid' }),
      h('aside', { class: 'wall-side', 'aria-labelledby': 'wall-layouts-h' },
        h('h2', { id: 'wall-layouts-h' }, t('wall.layouts')),
        h('ul', { id: 'wall-layouts', class: 'wall-layouts' }),
        h('h2', { id: 'wall-tours-h' }, t('wall.tours')),
        h('ul', { id: 'wall-tours', class: 'wall-layouts', 'aria-labelledby': 'wall-tours-h' }),
        tourForm,
        h('p', { class: 'sub' }, t('wall.help')))),
  );
}

/** Opens the wall (or redraws it, after a change of language); with `open`, on those
 *  cameras at that moment (an incident's) instead of the last layout. */
export async function renderWall(onError: (e: unknown) => void, open?: { cameras: string[]; at: number }): Promise<void> {
  report = onError;
  active = true;
  const sensors = state.sensors.length ? state.sensors : await api.sensors();
  cameras = sensors.filter((s) => s.type === 'camera').map((s) => ({ id: s.id, name: s.name ?? s.id }));
  cameras.sort((a, b) => a.name.localeCompare(b.name));
  const first = !$('#wall').dataset.ready;
  $('#wall').dataset.ready = '1';
  build();
  await refreshLive().catch(onError);
  if (!active) return;
  if (open) openOnWall(open.cameras, open.at);
  else renderGrid();
  await renderLayouts();
  if (first && !open) {
    // The layout last saved or loaded comes back after a reload.
    const name = lastName();
    const l = name ? saved.find((x) => x.name === name && !isTour(x)) : undefined;
    if (l && active) loadLayout(l);
  }
  clearInterval(liveTimer);
  liveTimer = window.setInterval(() => void refreshLive().catch(onError), 5000);
}

/** Leaving the view: every tile's socket closes, a tour stops, recordings are freed. */
export function leaveWall(): void {
  active = false;
  clearInterval(liveTimer);
  stopTour();
  for (const p of players.values()) p.close();
  players.clear();
  recordedGen++;
  recorded?.stop();
  recorded = null;
}
