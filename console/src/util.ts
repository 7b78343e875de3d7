import { t, getLang } from './i18n';

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `h('div', {class: 'x', onclick: f}, child, 'text')`: a small DOM builder, text only (no HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function $(sel: string, root: ParentNode = document): HTMLElement {
  const e = root.querySelector<HTMLElement>(sel);
  if (!e) throw new Error(`missing ${sel}`);
  return e;
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return t('detail.none');
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 5) return t('ago.now');
  if (s < 60) return t('ago.s', { n: s });
  if (s < 3600) return t('ago.min', { n: Math.floor(s / 60) });
  if (s < 86400) return t('ago.h', { n: Math.floor(s / 3600) });
  return t('ago.d', { n: Math.floor(s / 86400) });
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return t('detail.none');
  return new Date(iso).toLocaleTimeString(getLang() === 'en' ? 'en-GB' : 'fr-FR', {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return t('detail.none');
  return new Date(iso).toLocaleString(getLang() === 'en' ? 'en-GB' : 'fr-FR', {
    day: '2-digit',
    month: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${Math.round(x * 100)} %`;
}

/** A ULID: 48-bit millisecond time, 80 random bits, Crockford base32. */
export function ulid(now = Date.now()): string {
  const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let time = '';
  let ms = now;
  for (let i = 0; i < 10; i++) {
    time = A[ms % 32] + time;
    ms = Math.floor(ms / 32);
  }
  const r = new Uint8Array(16);
  crypto.getRandomValues(r);
  let rand = '';
  for (let i = 0; i < 16; i++) rand += A[r[i] % 32];
  return time + rand;
}
