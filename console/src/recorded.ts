// Synchronised playback of recordings: one clock, several cameras. Each camera's
// `RecordedPlayer` plays its segments (`GET /api/v1/segments/{id}`, an audited read: one
// standalone fragmented MP4, played from a `blob:` URL) into its own video element and
// follows the clock. The clock is the wall-clock time shown by every camera: while one
// camera plays, its video drives the clock (smooth for the eye that watches it); the others
// are re-aligned when they drift. When none plays, the clock waits for those loading or
// buffering. Where a camera recorded nothing, it shows a gap; when every camera is in a gap
// the clock skips to the next recording. The playback view and the video
// wall's "at the incident's time" mode both use it.
import { req } from './api';
import { t } from './i18n';

export interface Segment {
  id: string;
  camera: string;
  start: string;
  end: string;
  width: number;
  height: number;
  masked: boolean;
}
export interface Seg extends Segment {
  s: number;
  e: number;
}

/** A follower further than this from the clock is re-aligned (ms). */
const MAX_DRIFT_MS = 400;
/** A segment starting this soon after the clock counts as covering it (ms): segments abut. */
const ABUT_MS = 600;
/** The clock's tick (ms). */
const TICK_MS = 200;
/** A camera past its last known segment asks for newer ones at most this often (ms). */
const ASK_AGAIN_MS = 3_000;

export type PlayerState = 'loading' | 'playing' | 'paused' | 'gap' | 'error';

/** What a player's state says over its video ('' while it plays or pauses). */
export function stateText(s: PlayerState): string {
  return s === 'loading' ? t('pb.loading') : s === 'gap' ? t('pb.gap') : s === 'error' ? t('pb.error') : '';
}

const toSeg = (s: Segment): Seg => ({ ...s, s: Date.parse(s.start), e: Date.parse(s.end) });
const iso = (ms: number) => new Date(ms).toISOString();

/** The recorded segments of `camera` between `from` and `to` (ms), in time order. */
export async function segmentsOf(camera: string, from: number, to: number): Promise<Seg[]> {
  const q = `from=${encodeURIComponent(iso(from))}&to=${encodeURIComponent(iso(to))}&limit=10000`;
  const list = await req<Segment[]>('GET', `/api/v1/recordings/${encodeURIComponent(camera)}/segments?${q}`);
  return list.map(toSeg).sort((a, b) => a.s - b.s);
}

/** One camera's recordings played into one video element, following a `SyncClock`. */
export class RecordedPlayer {
  segs: Seg[] = [];
  cur: Seg | null = null;
  state: PlayerState = 'loading';
  /** The media time at which the current segment's first frame is shown. */
  private origin = 0;
  private url = '';
  /** Bumped on each opening: a late segment fetch is dropped. */
  private gen = 0;
  private opening: Seg | null = null;
  /** A seek is pending: the video's time is not the clock's until it lands. */
  private seeking = false;
  /** Segments fetched ahead (the next one, while the current plays). */
  private readonly ahead = new Map<string, Promise<Blob>>();
  private closed = false;
  /** When the segment list was last asked again (performance.now()). */
  private askedAt = 0;

  constructor(
    readonly camera: string,
    readonly video: HTMLVideoElement,
    private readonly onState: (p: RecordedPlayer) => void = () => undefined,
  ) {
    video.muted = true;
    video.addEventListener('seeked', () => (this.seeking = false));
  }

  /** Loads the segments of [from, to) (ms). */
  async load(from: number, to: number): Promise<void> {
    this.segs = await segmentsOf(this.camera, from, to);
  }

  /** Adds segments recorded since (a live camera goes on recording). */
  async extend(from: number, to: number): Promise<number> {
    const fresh = (await segmentsOf(this.camera, from, to)).filter((s) => !this.segs.some((x) => x.id === s.id));
    if (fresh.length) this.segs = [...this.segs, ...fresh].sort((a, b) => a.s - b.s);
    return fresh.length;
  }

  /** The wall-clock time shown (ms), or null when no segment is shown. */
  time(): number | null {
    if (!this.cur || this.opening || this.video.readyState < 1) return null;
    return this.cur.s + Math.max(0, this.video.currentTime - this.origin) * 1000;
  }

  /** The segment to show at `at`: the one holding it, or one starting just after. */
  covering(at: number): Seg | null {
    return this.segs.find((s) => at >= s.s && at < s.e) ?? this.segs.find((s) => s.s >= at && s.s - at < ABUT_MS) ?? null;
  }

  /** The first recording starting after `at`, for skipping a gap. */
  nextStart(at: number): number | null {
    return this.segs.find((s) => s.s > at)?.s ?? null;
  }

  /** Whether the clock should wait for this player: its segment loads, or its video has a
   *  moment to show but not the frames to play it (after a seek, or starved of CPU). */
  waiting(): boolean {
    if (this.state === 'loading') return true;
    if (this.state !== 'playing' || !this.cur) return false;
    return this.seeking || (this.video.readyState < 3 && !this.video.ended);
  }

  /** Whether this player's video may drive the clock now. */
  leads(): boolean {
    const v = this.video;
    return this.state === 'playing' && !this.seeking && !this.opening && !v.paused && !v.ended && v.readyState >= 3;
  }

  /** Shows the clock's time `at`; `lead` is the player whose video drives the clock. */
  follow(at: number, playing: boolean, speed: number, lead: boolean, force = false): void {
    if (this.closed) return;
    const seg = this.covering(at);
    const v = this.video;
    if (!seg) {
      if (this.opening) this.gen++;
      this.opening = null;
      if (!v.paused) v.pause();
      // Past the last segment known: perhaps recorded since the list was asked.
      const last = this.segs.length ? this.segs[this.segs.length - 1].e : -Infinity;
      if (at >= last - ABUT_MS && performance.now() - this.askedAt > ASK_AGAIN_MS) {
        this.askedAt = performance.now();
        void this.extend(at - 1000, at + 30 * 60_000).catch(() => 0);
      }
      return this.set('gap');
    }
    if (seg.id !== this.cur?.id && seg.id !== this.opening?.id) {
      void this.open(seg, Math.max(0, at - seg.s), playing, speed);
      return;
    }
    if (this.opening) return;
    if (v.playbackRate !== speed) v.playbackRate = speed;
    const shown = this.time();
    // A follower is moved when it drifts, once at a time: seeking again before the last
    // seek landed would keep a slow video from ever playing.
    if (!lead && shown !== null && (force || (!this.seeking && Math.abs(shown - at) > MAX_DRIFT_MS))) {
      this.seeking = true;
      v.currentTime = this.origin + Math.max(0, at - seg.s) / 1000;
    }
    if (playing && v.paused && !v.ended) void v.play().catch(() => undefined);
    if (!playing && !v.paused) v.pause();
    this.set(playing ? 'playing' : 'paused');
    // The next segment is fetched while this one plays.
    if (shown !== null && seg.e - shown < 3000) this.prefetch(this.segs.find((s) => s.s >= seg.e - ABUT_MS && s.id !== seg.id));
  }

  private set(s: PlayerState): void {
    if (this.state === s) return;
    this.state = s;
    this.video.dataset.state = s;
    this.onState(this);
  }

  private fetchSeg(seg: Seg): Promise<Blob> {
    const have = this.ahead.get(seg.id);
    if (have) return have;
    const p = fetch(`/api/v1/segments/${encodeURIComponent(seg.id)}`, { credentials: 'same-origin' }).then((r) => {
      if (!r.ok) throw new Error(`${t('pb.error')} (${r.status})`);
      return r.blob();
    });
    this.ahead.set(seg.id, p);
    p.catch(() => this.ahead.delete(seg.id));
    // Only the current and the next segment are kept.
    while (this.ahead.size > 2) this.ahead.delete(this.ahead.keys().next().value as string);
    return p;
  }

  private prefetch(seg: Seg | undefined): void {
    if (seg && !this.ahead.has(seg.id)) void this.fetchSeg(seg).catch(() => undefined);
  }

  private async open(seg: Seg, offsetMs: number, playing: boolean, speed: number): Promise<void> {
    const gen = ++this.gen;
    this.opening = seg;
    // A seek pending on the segment replaced will not land.
    this.seeking = false;
    this.set('loading');
    let blob: Blob;
    try {
      blob = await this.fetchSeg(seg);
    } catch {
      if (gen === this.gen) {
        this.opening = null;
        this.set('error');
      }
      return;
    }
    const v = this.video;
    if (gen !== this.gen || this.closed) return;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = URL.createObjectURL(new Blob([blob], { type: 'video/mp4' }));
    const ok = await new Promise<boolean>((done) => {
      v.addEventListener('loadedmetadata', () => done(true), { once: true });
      v.addEventListener('error', () => done(false), { once: true });
      v.src = this.url;
    });
    if (gen !== this.gen || this.closed) return;
    this.opening = null;
    if (!ok) {
      this.cur = null;
      return this.set('error');
    }
    this.cur = seg;
    v.dataset.segment = seg.id;
    v.dataset.segmentStart = seg.start;
    // A segment's media time may not start at zero (its fragments keep the stream's clock).
    this.origin = v.seekable.length ? v.seekable.start(0) : 0;
    v.dataset.origin = String(this.origin);
    v.currentTime = this.origin + Math.min(offsetMs, Math.max(0, seg.e - seg.s - 100)) / 1000;
    v.playbackRate = speed;
    if (playing) await v.play().catch(() => undefined);
    this.set(playing ? 'playing' : 'paused');
  }

  close(): void {
    this.closed = true;
    this.gen++;
    this.ahead.clear();
    const v = this.video;
    v.pause();
    v.removeAttribute('src');
    v.load();
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = '';
    this.cur = null;
  }
}

/** The time all players show: driven by the leading video, else by the wall clock. */
export class SyncClock {
  at: number;
  playing = true;
  speed = 1;
  players: RecordedPlayer[] = [];
  private last = performance.now();
  private timer = 0;
  private extending = false;
  /** Called after each tick with the clock's time. */
  onTick: (at: number) => void = () => undefined;
  /** Called when nothing more is recorded after the clock's time. */
  onEnd: () => void = () => undefined;

  constructor(at: number) {
    this.at = at;
  }

  start(): void {
    clearInterval(this.timer);
    this.last = performance.now();
    this.timer = window.setInterval(() => this.tick(), TICK_MS);
    this.tick(true);
  }

  stop(): void {
    clearInterval(this.timer);
    for (const p of this.players) p.close();
    this.players = [];
  }

  seek(at: number): void {
    this.at = at;
    this.tick(true);
  }

  setPlaying(on: boolean): void {
    this.playing = on;
    this.tick(true);
  }

  setSpeed(s: number): void {
    this.speed = s;
    this.tick();
  }

  /** Advances the clock and aligns every player; `force` re-aligns all of them. */
  tick(force = false): void {
    const now = performance.now();
    const elapsed = now - this.last;
    this.last = now;
    const lead = force ? undefined : this.players.find((p) => p.leads());
    if (this.playing && !force) {
      const shown = lead?.time();
      if (lead && shown != null) this.at = shown;
      else if (!this.players.some((p) => p.waiting())) this.at += elapsed * this.speed;
    }
    for (const p of this.players) p.follow(this.at, this.playing, this.speed, p === lead, force);
    if (this.playing && this.players.length && this.players.every((p) => p.state === 'gap')) this.skipGap();
    this.onTick(this.at);
  }

  /** Every camera is in a gap: jump to the next recording, or look for newer ones. */
  private skipGap(): void {
    const next = this.players.map((p) => p.nextStart(this.at)).filter((x): x is number => x !== null);
    if (next.length) {
      this.at = Math.min(...next);
      for (const p of this.players) p.follow(this.at, this.playing, this.speed, false, true);
      return;
    }
    if (this.extending) return;
    this.extending = true;
    const from = this.at - 1000;
    void Promise.all(this.players.map((p) => p.extend(from, from + 30 * 60_000).catch(() => 0)))
      .then((n) => {
        if (!n.some((x) => x > 0)) {
          this.playing = false;
          this.onEnd();
        }
      })
      .finally(() => (this.extending = false));
  }
}
