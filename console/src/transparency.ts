// The public transparency page: what the city's supervision centre runs, under which
// legal acts, how long it keeps data, and what it did month by month. No login.
import { getLang, kindLabel, setLang, t } from './i18n';
import type { Transparency } from './types/transparency';
import { $, h, pct } from './util';

let data: Transparency | null = null;

function render(): void {
  const d = data;
  $('#lang').textContent = t('lang.switch');
  $('#t-title').textContent = t('tr.title');
  document.title = `${t('tr.title')} — Vigie`;
  $('#t-ret-h').textContent = t('tr.retention');
  $('#t-months-h').textContent = t('tr.months');
  $('#t-sensors-h').textContent = t('tr.sensors');
  $('#t-audit-h').textContent = t('tr.audit');
  if (!d) return;
  $('#t-intro').textContent = t('tr.intro', { hub: d.hub });
  $('#t-retention').textContent = t('tr.retention_text', {
    det: d.retention.detections_days,
    ev: d.retention.evidence_days,
    inc: d.retention.incidents_days,
    max: d.retention.legal_max_image_days,
  });
  const kinds = [...new Set(d.months.flatMap((m) => Object.keys(m.precision_by_analytic)))].sort();
  $('#t-months').replaceChildren(
    h('table', { id: 'months-table' },
      h('thead', {}, h('tr', {}, ...['tr.month', 'tr.incidents', 'tr.exports', 'tr.requisitions', 'tr.purged'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ...d.months.map((m) =>
        h('tr', { 'data-month': m.month },
          h('th', { scope: 'row' }, m.month),
          h('td', {}, String(m.incidents)),
          h('td', {}, `${m.exports_approved} / ${m.exports_requested}`),
          h('td', {}, String(m.requisitions)),
          h('td', {}, Object.entries(m.purged).map(([c, n]) => `${t('tr.class.' + c)} ${n}`).join(', ') || '—'),
        ),
      )),
    ),
    h('h3', {}, t('tr.precision')),
    h('p', { class: 'sub' }, t('tr.precision_help')),
    h('table', { id: 'precision-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('tr.month')), ...kinds.map((k) => h('th', { scope: 'col' }, kindLabel(k))))),
      h('tbody', {}, ...d.months.map((m) =>
        h('tr', {}, h('th', { scope: 'row' }, m.month), ...kinds.map((k) => {
          const c = m.precision_by_analytic[k];
          return h('td', {}, c ? `${pct(c.precision)} (${c.confirmed}/${c.resolved})` : '—');
        })),
      )),
    ),
  );
  $('#t-sensors').replaceChildren(
    h('p', { class: 'sub' }, t('tr.sensors_count', { n: d.sensors.length })),
    h('table', { id: 'sensors-table' },
      h('thead', {}, h('tr', {}, ...['tr.sensor', 'tr.type', 'tr.place', 'tr.analytics', 'tr.kept'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ...d.sensors.map((s) =>
        h('tr', { 'data-sensor': s.id },
          h('td', {}, s.name, h('br'), h('small', {}, s.id)),
          h('td', {}, t('tr.type.' + s.type)),
          h('td', {}, `${s.district ?? '—'} (${s.lat.toFixed(4)}, ${s.lon.toFixed(4)})`),
          h('td', {}, h('ul', { class: 'plain' }, ...s.analytics.map((a) =>
            h('li', { class: a.in_force ? '' : 'off' }, kindLabel(a.kind), ' — ',
              a.authorizations.length
                ? a.authorizations.map((x) => `${x.reference}${x.in_force ? '' : ` (${t('tr.not_in_force')})`}`).join(' ; ')
                : t('tr.no_act'))))),
          h('td', {}, t('tr.kept_days', { det: s.detections_retention_days, ev: s.evidence_retention_days })),
        ),
      )),
    ),
  );
  const cp = d.audit_checkpoint;
  $('#t-audit').replaceChildren(
    h('p', {}, t('tr.audit_help')),
    cp ? h('pre', { id: 'checkpoint' }, `${cp.origin}\n${cp.size}\n${cp.root_hash}\n${cp.timestamp}\n— ${cp.key_id} ${cp.signature}`) : h('p', {}, '—'),
    d.export_public_key ? h('p', {}, t('tr.export_key'), ' ', h('code', {}, d.export_public_key)) : '',
  );
}

async function start(): Promise<void> {
  setLang(getLang());
  render();
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'fr' ? 'en' : 'fr');
    render();
  });
  try {
    const r = await fetch('/api/v1/transparency');
    if (!r.ok) throw new Error(`${r.status}`);
    data = (await r.json()) as Transparency;
    render();
    document.body.dataset.ready = 'true';
  } catch (e) {
    $('#t-error').textContent = t('tr.error', { e: String(e) });
  }
}

void start();
