// Incidents per type, district and hour; measured precision per analytic and per sensor.
import { api } from './api';
import { t, kindLabel } from './i18n';
import { state } from './state';
import type { PrecisionRow } from './types/stats';
import type { VigieMap } from './map';
import { $, h, pct } from './util';

export async function renderDashboard(map: VigieMap): Promise<void> {
  const root = $('#dashboard');
  const [all, prec] = await Promise.all([api.incidents('?limit=5000'), api.precision()]);
  for (const i of all) state.types.set(i.incident_type, i.title);
  const byType = new Map<string, number>();
  const byDistrict = new Map<string, number>();
  const byHour = new Array<number>(24).fill(0);
  for (const i of all) {
    byType.set(i.title, (byType.get(i.title) ?? 0) + 1);
    const d = map.districtName(i.district);
    byDistrict.set(d, (byDistrict.get(d) ?? 0) + 1);
    byHour[new Date(i.opened_at).getHours()]++;
  }
  const sensorName = (id: string) => state.sensors.find((s) => s.id === id)?.name ?? id;
  root.replaceChildren(
    h('p', { class: 'total' }, t('dash.total', { n: all.length })),
    h(
      'div',
      { class: 'cards' },
      card(t('dash.per_type'), bars([...byType].sort((a, b) => b[1] - a[1]))),
      card(t('dash.per_district'), bars([...byDistrict].sort((a, b) => b[1] - a[1]))),
      card(t('dash.per_hour'), hours(byHour)),
    ),
    h(
      'section',
      { class: 'card wide', id: 'precision-kind', 'aria-labelledby': 'prec-kind-h' },
      h('h2', { id: 'prec-kind-h' }, t('dash.precision_kind')),
      h('p', { class: 'note' }, t('dash.precision_note')),
      precisionTable(t('dash.kind'), prec.by_kind, kindLabel, prec.overall),
    ),
    h(
      'section',
      { class: 'card wide', id: 'precision-sensor', 'aria-labelledby': 'prec-sensor-h' },
      h('h2', { id: 'prec-sensor-h' }, t('dash.precision_sensor')),
      precisionTable(t('dash.sensor'), prec.by_sensor, sensorName),
    ),
  );
}

function card(title: string, body: HTMLElement): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), body);
}

function bars(rows: [string, number][]): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return h(
    'ul',
    { class: 'bars' },
    ...rows.map(([label, n]) =>
      h(
        'li',
        {},
        h('span', { class: 'label' }, label),
        h('span', { class: 'bar', style: `width:${Math.round((n / max) * 100)}%`, 'aria-hidden': 'true' }),
        h('span', { class: 'n' }, String(n)),
      ),
    ),
  );
}

function hours(byHour: number[]): HTMLElement {
  const max = Math.max(1, ...byHour);
  return h(
    'div',
    { class: 'hours', role: 'img', 'aria-label': byHour.map((n, hr) => `${hr} h : ${n}`).join(', ') },
    ...byHour.map((n, hr) =>
      h(
        'div',
        { class: 'hour' },
        h('span', { class: 'col', style: `height:${Math.round((n / max) * 100)}%` }),
        h('span', { class: 'hl' }, hr % 3 === 0 ? String(hr) : ''),
      ),
    ),
  );
}

function precisionTable(
  head: string,
  rows: Record<string, PrecisionRow>,
  label: (k: string) => string,
  overall?: PrecisionRow,
): HTMLElement {
  const keys = Object.keys(rows).sort((a, b) => rows[b].resolved - rows[a].resolved || a.localeCompare(b));
  if (!keys.length) return h('p', { class: 'note' }, t('dash.none'));
  const tr = (name: string, r: PrecisionRow, key: string, cls = '') =>
    h(
      'tr',
      { 'data-key': key, class: cls },
      h('th', { scope: 'row' }, name),
      h('td', { 'data-col': 'resolved' }, String(r.resolved)),
      h('td', { 'data-col': 'confirmed' }, String(r.confirmed)),
      h('td', {}, String(r.false_alarm)),
      h('td', {}, String(r.unverifiable)),
      h('td', { 'data-col': 'precision', class: 'precision' }, pct(r.precision)),
    );
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[head, t('dash.resolved'), t('dash.confirmed'), t('dash.false_alarm'), t('dash.unverifiable'), t('dash.precision')].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...keys.map((k) => tr(label(k), rows[k], k)),
      overall ? tr(t('dash.overall'), overall, '_overall', 'overall') : null,
    ),
  );
}
