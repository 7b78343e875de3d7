// Online-media search for operators: retained posts, by topic and place (the watch-query
// language). Posts carry no author; every search is in the audit log.
import { api } from './api';
import { t } from './i18n';
import { state } from './state';
import { $, dateTime, h } from './util';

export function renderSocial(report: (e: unknown) => void): void {
  const root = $('#social');
  if (root.dataset.ready) return;
  root.dataset.ready = '1';
  const district = h('select', { id: 'so-district', 'aria-label': t('filter.district') },
    h('option', { value: '' }, t('filter.all')), ...state.districts.map((d) => h('option', { value: d.id }, d.name)));
  const form = h('form', { id: 'social-form', class: 'inline-form' },
    h('label', {}, h('span', {}, t('so.query')), h('input', { id: 'so-q', required: true, maxlength: 500, size: 40, placeholder: 'incendie NEAR/3 commerce' })),
    h('label', {}, h('span', {}, t('filter.district')), district),
    h('button', { type: 'submit' }, t('audit.search')));
  const results = h('div', { id: 'social-results' });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams({ q: ($('#so-q') as HTMLInputElement).value.trim(), limit: '100' });
    if (district.value) p.set('district', district.value);
    try {
      const r = await api.socialSearch(`?${p.toString()}`);
      results.replaceChildren(
        h('p', {}, t('so.found', { n: r.total, shown: r.hits.length })),
        h('table', { id: 'social-table' },
          h('thead', {}, h('tr', {}, ...['audit.at', 'so.source', 'so.text', 'so.topics', 'so.places', 'so.tone'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, ...r.hits.map((x) => h('tr', { 'data-post': x.id },
            h('td', {}, dateTime(x.time)), h('td', {}, x.source), h('td', {}, x.text),
            h('td', {}, x.topics.join(', ')), h('td', {}, [...x.places, ...x.districts].join(', ')), h('td', {}, t('so.tone.' + x.polarity)))))),
      );
    } catch (e) {
      report(e);
    }
  });
  root.replaceChildren(h('p', { class: 'sub' }, t('so.help')), form, results);
}
