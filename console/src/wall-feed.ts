// Feeds one live tile's MediaSource: the init segment, then each fragment, appended to a
// SourceBuffer in order (queued while it updates), old buffered ranges trimmed behind the
// playhead (the page tells where it is).

/** Keep this much behind the playhead once more than twice that is buffered. */
const KEEP_BEHIND_S = 6;

export class Feeder {
  private sb: SourceBuffer | null = null;
  private queue: ArrayBuffer[] = [];
  private mime = '';
  private open = false;
  private closed = false;
  private playhead = 0;

  constructor(
    private readonly ms: MediaSource,
    private readonly onError: (why: 'unsupported' | 'error') => void,
  ) {
    ms.addEventListener(
      'sourceopen',
      () => {
        this.open = true;
        this.setup();
      },
      { once: true },
    );
  }

  init(mime: string): void {
    if (this.mime) return; // a later init segment (recorder restart) is appended as data
    this.mime = mime;
    this.setup();
  }

  data(b: ArrayBuffer): void {
    if (this.closed) return;
    this.queue.push(b);
    this.pump();
  }

  /** Where the video element's playhead is (for trimming). */
  time(t: number): void {
    this.playhead = t;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    try {
      if (this.ms.readyState === 'open' && !this.sb?.updating) this.ms.endOfStream();
    } catch {
      /* already ended */
    }
    this.sb = null;
  }

  private setup(): void {
    if (!this.open || !this.mime || this.sb || this.closed) return;
    if (!MediaSource.isTypeSupported(this.mime)) return this.onError('unsupported');
    try {
      this.sb = this.ms.addSourceBuffer(this.mime);
    } catch {
      return this.onError('unsupported');
    }
    this.sb.addEventListener('updateend', () => this.updated());
    this.sb.addEventListener('error', () => this.onError('error'));
    this.pump();
  }

  private pump(): void {
    const sb = this.sb;
    if (!sb || sb.updating || !this.queue.length || this.closed) return;
    try {
      sb.appendBuffer(this.queue[0]);
      this.queue.shift();
    } catch (e) {
      // Full: drop what is behind the playhead; the append is tried again on updateend.
      if (e instanceof DOMException && e.name === 'QuotaExceededError' && sb.buffered.length) {
        const start = sb.buffered.start(0);
        sb.remove(start, Math.max(start + 0.5, this.playhead - 1));
      } else {
        this.onError('error');
      }
    }
  }

  private updated(): void {
    const sb = this.sb;
    if (!sb || this.closed) return;
    if (!this.queue.length && sb.buffered.length) {
      const start = sb.buffered.start(0);
      if (this.playhead - start > KEEP_BEHIND_S * 2) {
        sb.remove(start, this.playhead - KEEP_BEHIND_S);
        return;
      }
    }
    this.pump();
  }
}
