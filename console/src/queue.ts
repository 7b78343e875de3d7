// The live incident queue and the incident detail (timeline, actions).
import { api, ApiFailure, req } from './api';
import { getLang, t, kindLabel } from './i18n';
import { state, visible } from './state';
import type { Incident, IncidentDetail } from './types/incident';
import type { VigieMap } from './map';
import { openExportRequest } from './exports';
import { incidentCameras, withRecordings } from './incident-cameras';
import { MAX_SYNC } from './playback';
import type { StoredDetection } from './types/detection';
import { $, ago, dateTime, clock, h } from './util';

const MAX_SHOWN = 300;
/** Least time between two renders caused by the live stream. */
const LIVE_RENDER_MS = 250;

type Row = { key: string; li: HTMLElement };

export class Queue {
  private list = $('#queue-list');
  private count = $('#queue-count');
  private detail = $('#detail');
  private pending = false;
  private detailData: IncidentDetail | null = null;
  private rows = new Map<string, Row>();
  private lastRender = 0;
  private liveTimer = 0;
  private scrolledTo: string | null = null;

  constructor(private map: VigieMap) {
    map.onIncidentClick = (id) => {
      this.select(id);
      void this.open(id);
    };
  }

  /** Re-renders on the next frame (many changes coalesce into one render). */
  render(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.lastRender = performance.now();
      this.renderNow();
    });
  }

  /**
   * For live changes: renders at most every LIVE_RENDER_MS, so that a burst of updates
   * (tens per second) costs a few renders per second, not one per frame.
   */
  renderLive(): void {
    if (this.pending || this.liveTimer) return;
    const wait = this.lastRender + LIVE_RENDER_MS - performance.now();
    if (wait <= 0) return this.render();
    this.liveTimer = window.setTimeout(() => {
      this.liveTimer = 0;
      this.render();
    }, wait);
  }

  private renderNow(): void {
    const items = visible();
    const now = Date.now();
    const shown = items.slice(0, MAX_SHOWN);
    // Rows are kept by incident id and rebuilt only when what they show changed.
    const rows = new Map<string, Row>();
    const wanted: HTMLElement[] = [];
    for (const i of shown) {
      const sel = i.id === state.selected;
      const age = ago(i.opened_at, now);
      const key = `${i.version}|${sel ? 1 : 0}|${age}|${getLang()}`;
      let row = this.rows.get(i.id);
      if (!row || row.key !== key) row = { key, li: this.row(i, sel, age) };
      rows.set(i.id, row);
      wanted.push(row.li);
    }
    if (items.length === 0) wanted.push(h('li', { class: 'empty' }, t('queue.empty')));
    if (items.length > MAX_SHOWN) wanted.push(h('li', { class: 'empty' }, t('queue.more', { n: items.length - MAX_SHOWN })));
    this.rows = rows;
    // Moves and replaces only what differs from the list on screen.
    let at: ChildNode | null = this.list.firstChild;
    for (const li of wanted) {
      if (at === li) {
        at = at.nextSibling;
        continue;
      }
      this.list.insertBefore(li, at);
    }
    while (at) {
      const next: ChildNode | null = at.nextSibling;
      at.remove();
      at = next;
    }
    this.count.textContent = String(items.length);
    this.map.setIncidents(items, state.selected);
    if (state.selected !== this.scrolledTo) {
      this.scrolledTo = state.selected;
      const sel = this.list.querySelector('li.selected');
      if (sel) sel.scrollIntoView({ block: 'nearest' });
    }
    if (state.opened && this.detailData) {
      const cur = state.incidents.get(state.opened);
      if (cur && cur.version !== this.detailData.incident.version) void this.open(state.opened, false);
    }
  }

  private row(i: Incident, sel: boolean, age: string): HTMLElement {
    return h(
      'li',
      { class: `item prio-${i.priority} state-${i.state}${sel ? ' selected' : ''}`, 'data-id': i.id, 'data-state': i.state },
      h(
        'button',
        {
          type: 'button',
          'aria-current': sel ? 'true' : null,
          onclick: () => {
            this.select(i.id);
            void this.open(i.id);
          },
        },
        h('span', { class: `prio prio-${i.priority}` }, t('prio.' + i.priority)),
        h('span', { class: 'title' }, i.title),
        h('span', { class: 'state' }, t('state.' + i.state)),
        h('span', { class: 'where' }, this.map.districtName(i.district)),
        h('span', { class: 'age' }, age),
        h('span', { class: 'count' }, `${i.detection_count} ${t(i.detection_count === 1 ? 'detail.detection' : 'detail.detections')}`),
      ),
    );
  }

  select(id: string | null): void {
    state.selected = id;
    this.render();
  }

  move(delta: number): void {
    const items = visible();
    if (!items.length) return;
    let idx = items.findIndex((i) => i.id === state.selected);
    idx = idx < 0 ? (delta > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, idx + delta));
    this.select(items[idx].id);
  }

  async act(action: Record<string, unknown>, id = state.selected): Promise<void> {
    if (!id) return;
    try {
      const i = await api.act(id, action);
      state.incidents.set(i.id, i);
      this.flash('');
      this.render();
      if (state.opened === id) await this.open(id, false);
    } catch (e) {
      this.flash(t('act.failed', { msg: e instanceof ApiFailure ? e.message : String(e) }));
    }
  }

  private flash(msg: string): void {
    const s = $('#status-msg');
    s.textContent = msg;
  }

  close(): void {
    state.opened = null;
    this.detailData = null;
    this.detail.hidden = true;
    this.detail.replaceChildren();
    this.map.focusIncident(null);
    document.body.classList.remove('detail-open');
    this.map.map.invalidateSize();
  }

  async open(id: string, focus = true): Promise<void> {
    let d: IncidentDetail;
    try {
      d = await api.incident(id);
    } catch (e) {
      this.flash(String(e instanceof Error ? e.message : e));
      return;
    }
    state.opened = id;
    this.detailData = d;
    state.incidents.set(d.incident.id, d.incident);
    const wasHidden = this.detail.hidden;
    this.detail.hidden = false;
    document.body.classList.add('detail-open');
    this.detail.replaceChildren(this.renderDetail(d));
    if (wasHidden) this.map.map.invalidateSize();
    if (focus) {
      this.map.focusIncident(d.incident);
      ($('#detail h2') as HTMLElement).focus();
    }
  }

  private renderDetail(d: IncidentDetail): DocumentFragment {
    const i = d.incident;
    const f = document.createDocumentFragment();
    const sensorName = (id: string) => state.sensors.find((s) => s.id === id)?.name ?? id;
    f.append(
      h(
        'header',
        { class: 'detail-head' },
        h('span', { class: `prio prio-${i.priority}` }, t('prio.' + i.priority)),
        h('h2', { tabindex: '-1' }, i.title),
        h('span', { class: `state-badge state-${i.state}`, 'data-testid': 'detail-state' }, t('state.' + i.state)),
        h('button', { type: 'button', class: 'ghost', onclick: () => this.close(), 'aria-label': t('detail.close') }, '×'),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, t('detail.district')),
        h('dd', {}, this.map.districtName(i.district)),
        h('dt', {}, t('detail.opened')),
        h('dd', {}, `${dateTime(i.opened_at)} (${ago(i.opened_at)})`),
        h('dt', {}, t('detail.kinds')),
        h('dd', {}, i.kinds.map(kindLabel).join(', ')),
        h('dt', {}, t('detail.sensors')),
        h('dd', {}, i.sensors.map(sensorName).join(', ')),
        h('dt', {}, t('detail.assignee')),
        h('dd', {}, i.assignee ?? t('detail.none')),
        h('dt', {}, t('detail.outcome')),
        h('dd', {}, i.outcome ? t('outcome.' + i.outcome) : t('detail.none')),
      ),
      this.renderActions(i, d),
      h('h3', {}, `${t('detail.timeline')} · ${i.detection_count} ${t('detail.detections')}`),
      this.renderTimeline(d, sensorName),
    );
    return f;
  }

  private renderActions(i: Incident, d: IncidentDetail): HTMLElement {
    const s = i.state;
    const open = s === 'new' || s === 'acknowledged' || s === 'in_progress';
    const btn = (label: string, action: Record<string, unknown>, enabled: boolean, key?: string) =>
      h(
        'button',
        { type: 'button', disabled: !enabled, 'data-action': String(action.action), onclick: () => void this.act(action, i.id) },
        label,
        key ? h('kbd', {}, key) : null,
      );
    const outcome = h(
      'select',
      { id: 'outcome', 'aria-label': t('act.outcome.label') },
      ...(['confirmed', 'false_alarm', 'unverifiable'] as const).map((o) => h('option', { value: o }, t('outcome.' + o))),
    );
    const assignee = h('input', { id: 'assignee', type: 'text', maxlength: 100, 'aria-label': t('act.assignee.label'), placeholder: t('act.assignee.label') });
    const note = h('input', { id: 'note', type: 'text', maxlength: 4000, 'aria-label': t('act.note.label'), placeholder: t('act.note.label') });
    // The incident's cameras (its own, then those near it) that recorded something: played
    // back in step, or opened on the wall, from a little before its first detection.
    const view = incidentCameras(i, d, state.sensors);
    const show = async (what: 'vigie:playback' | 'vigie:wall', max: number) => {
      try {
        const over = await req<{ cameras: { camera: string; segments: number }[] }>('GET', '/api/v1/recordings');
        const recorded = new Set(over.cameras.filter((c) => c.segments > 0).map((c) => c.camera));
        const cameras = withRecordings(view, recorded).slice(0, max);
        document.dispatchEvent(new CustomEvent(what, { detail: { cameras, at: view.at } }));
      } catch (e) {
        $('#status-msg').textContent = e instanceof Error ? e.message : String(e);
      }
    };
    const jump = view.cameras.length
      ? h('button', { type: 'button', id: 'playback-jump', onclick: () => void show('vigie:playback', MAX_SYNC) }, t('pb.jump'))
      : null;
    const wall = view.cameras.length
      ? h('button', { type: 'button', id: 'wall-open', onclick: () => void show('vigie:wall', 16) }, t('wall.open'))
      : null;
    return h(
      'div',
      { class: 'actions' },
      h(
        'div',
        { class: 'row' },
        btn(t('act.acknowledge'), { action: 'acknowledge' }, s === 'new', 'a'),
        btn(t('act.start'), { action: 'start' }, s === 'new' || s === 'acknowledged', 's'),
        btn(t('act.escalate'), { action: 'escalate' }, open && i.priority !== 'critical', 'e'),
        btn(t('act.close'), { action: 'close' }, s === 'resolved'),
        btn(t('act.reopen'), { action: 'reopen' }, s === 'resolved'),
      ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void this.act({ action: 'resolve', outcome: outcome.value }, i.id);
          },
        },
        outcome,
        h('button', { type: 'submit', disabled: !open, 'data-action': 'resolve' }, t('act.resolve')),
      ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const v = assignee.value.trim();
            if (v) void this.act({ action: 'assign', assignee: v }, i.id);
          },
        },
        assignee,
        h('button', { type: 'submit', disabled: s === 'closed' }, t('act.assign')),
      ),
      h(
        'form',
        {
          class: 'row',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const v = note.value.trim();
            if (v) void this.act({ action: 'note', text: v }, i.id);
          },
        },
        note,
        h('button', { type: 'submit' }, t('act.note')),
      ),
      h(
        'div',
        { class: 'row' },
        h('button', { type: 'button', id: 'export-request', onclick: () => openExportRequest(i.id, (e) => ($('#status-msg').textContent = String(e))) }, t('exp.request')),
        jump,
        wall,
      ),
    );
  }

  /** History and detections merged in time order. Actors are never shown. */
  private renderTimeline(d: IncidentDetail, sensorName: (id: string) => string): HTMLElement {
    type Row = { at: string; label: string; text: string; cls: string; det?: { lat: number; lon: number }; extra?: HTMLElement | null };
    const rows: Row[] = [];
    for (const e of d.history) {
      let text = '';
      const det = e.detail ?? {};
      if (e.action === 'note' && typeof det.text === 'string') text = det.text;
      else if (e.action === 'resolve' && typeof det.outcome === 'string') text = t('outcome.' + det.outcome);
      else if (e.action === 'assign' && typeof det.assignee === 'string') text = det.assignee;
      else if (e.action === 'escalate') text = `${t('prio.' + det.from)} → ${t('prio.' + det.to)}`;
      else if (e.from_state !== e.to_state) text = `${t('state.' + e.from_state)} → ${t('state.' + e.to_state)}`;
      rows.push({ at: e.at, label: t('ev.' + e.action), text, cls: 'ev-action' });
    }
    for (const x of d.detections) {
      rows.push({
        at: x.time,
        label: kindLabel(x.kind),
        text: `${sensorName(x.sensor)} · ${Math.round(x.confidence * 100)} %`,
        cls: 'ev-detection',
        det: { lat: x.location.lat, lon: x.location.lon },
        extra: evidenceOf(x),
      });
    }
    rows.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    return h(
      'ol',
      { class: 'timeline' },
      ...rows.map((r) =>
        h(
          'li',
          { class: r.cls },
          h('time', { datetime: r.at }, clock(r.at)),
          r.det
            ? h('button', { type: 'button', class: 'link', onclick: () => this.map.focusPoint(r.det!.lat, r.det!.lon) }, r.label)
            : h('strong', {}, r.label),
          h('span', {}, r.text),
          r.extra ?? null,
        ),
      ),
    );
  }
}

/** Attribute names that are never shown, whatever a producer sends (no author, no name). */
const HIDDEN_ATTRIBUTES = new Set(['author', 'author_hash', 'handle', 'user', 'username', 'name', 'account']);

/** What a detection carries: its facts (attributes) and its evidence (masked snapshots,
 *  chart data). Reading evidence is an audited read on the hub. */
function evidenceOf(x: StoredDetection): HTMLElement | null {
  const facts = Object.entries(x.attributes ?? {})
    .filter(([k, v]) => !HIDDEN_ATTRIBUTES.has(k) && (typeof v !== 'object' || v === null || Array.isArray(v)))
    .slice(0, 8)
    .map(([k, v]) => h('li', {}, h('span', { class: 'k' }, k), ' ', Array.isArray(v) ? v.slice(0, 5).join(' · ') : String(v)));
  const media = (x.evidence ?? []).map((e) => {
    const src = `/api/v1/${e.uri}`;
    if (e.media_type.startsWith('image/')) {
      return h('a', { href: src, target: '_blank', rel: 'noopener', class: 'evidence-link' },
        h('img', { src, alt: t('detail.snapshot'), loading: 'lazy', class: 'evidence-img', width: 160 }));
    }
    return h('a', { href: src, target: '_blank', rel: 'noopener', class: 'evidence-link' }, `${t('detail.evidence')} (${e.media_type})`);
  });
  if (!facts.length && !media.length) return null;
  return h('div', { class: 'evidence' }, facts.length ? h('ul', { class: 'facts-list' }, ...facts) : null, ...media);
}
