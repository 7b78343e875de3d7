// A short, calm two-tone cue for critical incidents (WebAudio, no file). Mutable; the choice
// is kept in localStorage. Browsers start audio only after a user gesture.
let ctx: AudioContext | null = null;
let muted = (() => {
  try {
    return localStorage.getItem('vigie.muted') === '1';
  } catch {
    return false;
  }
})();

export function isMuted(): boolean {
  return muted;
}

export function setMuted(m: boolean): void {
  muted = m;
  try {
    localStorage.setItem('vigie.muted', m ? '1' : '0');
  } catch {
    /* private mode */
  }
}

/** Call from a user gesture so that later cues can play. */
export function unlockAudio(): void {
  if (ctx || typeof AudioContext === 'undefined') return;
  try {
    ctx = new AudioContext();
  } catch {
    ctx = null;
  }
}

export function beep(): void {
  if (muted || !ctx) return;
  const t0 = ctx.currentTime;
  for (const [i, freq] of [880, 660].entries()) {
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.type = 'sine';
    o.frequency.value = freq;
    const s = t0 + i * 0.22;
    g.gain.setValueAtTime(0.0001, s);
    g.gain.exponentialRampToValueAtTime(0.25, s + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, s + 0.2);
    o.connect(g).connect(ctx.destination);
    o.start(s);
    o.stop(s + 0.21);
  }
}
