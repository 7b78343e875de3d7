// Sensors: list with status, last detection, analytics; a click shows it on the map.
import { t, kindLabel } from './i18n';
import { state } from './state';
import { sensorHealth, type VigieMap } from './map';
import type { Sensor } from './types/sensor';
import { $, ago, h } from './util';

const MAX_ROWS = 500;

/** Each analytic, and whether an act in force allows it: one that none allows does not run
 *  (the hub refuses its detections), and is shown struck through with why. */
function analytics(s: Sensor): (HTMLElement | string)[] {
  const acts = s.authorizations ?? [];
  const out: (HTMLElement | string)[] = [];
  s.analytics.forEach((k, i) => {
    if (i > 0) out.push(', ');
    const naming = acts.filter((a) => a.analytics.includes(k));
    if (acts.length === 0 || naming.some((a) => a.in_force)) {
      out.push(h('span', { title: naming.map((a) => a.reference).join(' ; ') }, kindLabel(k)));
    } else {
      const why = naming.length ? t('sens.expired', { act: naming[0].reference }) : t('sens.no_act');
      out.push(h('span', { class: 'off', 'data-off': k, title: why }, h('s', {}, kindLabel(k)), ` (${why})`));
    }
  });
  return out;
}

export function renderSensors(map: VigieMap): void {
  const root = $('#sensor-table');
  const q = ($('#sensor-search') as HTMLInputElement).value.trim().toLowerCase();
  const now = Date.now();
  const list = state.sensors.filter(
    (s) => !q || s.id.includes(q) || (s.name ?? '').toLowerCase().includes(q) || s.type.includes(q),
  );
  $('#sensor-count').textContent = t('sens.count', { n: list.length });
  root.replaceChildren(
    h(
      'thead',
      {},
      h('tr', {}, ...['sens.name', 'sens.type', 'sens.district', 'sens.status', 'sens.last', 'sens.analytics'].map((k) => h('th', { scope: 'col' }, t(k)))),
    ),
    h(
      'tbody',
      {},
      ...list.slice(0, MAX_ROWS).map((s) => {
        const health = sensorHealth(s, now);
        return h(
          'tr',
          { 'data-id': s.id },
          h(
            'th',
            { scope: 'row' },
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                // A mobile sensor is shown where it is now, not at its home.
                onclick: () => {
                  const at = map.whereIs(s.id);
                  if (at) map.focusPoint(at.lat, at.lon);
                },
              },
              s.name ?? s.id,
            ),
            h('div', { class: 'sub' }, s.id),
          ),
          h('td', {}, t('type.' + s.type)),
          h('td', {}, map.districtName(s.district)),
          h('td', {}, h('span', { class: `dot health-${health}`, 'aria-hidden': 'true' }), t('health.' + health)),
          h('td', {}, ago(s.health?.last_detection, now)),
          h('td', { class: 'analytics' }, ...analytics(s)),
        );
      }),
    ),
  );
}
