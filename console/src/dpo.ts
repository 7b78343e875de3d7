// The data protection officer's views: the audit log search, and the registers
// (authorizations, extractions, legal holds, purges), each also as CSV. The DPO reads no
// incident and no evidence: the registers say what happened, never to whom.
import { api } from './api';
import { kindLabel, t } from './i18n';
import type { AuditEntry } from './types/export';
import { $, dateTime, h } from './util';

function csvLink(href: string): HTMLElement {
  return h('a', { href, download: '', class: 'csv' }, t('dpo.csv'));
}

function entryRow(e: AuditEntry): HTMLElement {
  const detail = e.detail === null || e.detail === undefined ? '' : JSON.stringify(e.detail);
  return h('tr', { 'data-seq': e.seq }, h('td', {}, String(e.seq)), h('td', {}, dateTime(e.at)), h('td', {}, e.actor),
    h('td', {}, t('audit.action.' + e.action)), h('td', {}, h('code', {}, e.target)), h('td', { class: 'detail-cell' }, detail));
}

export function renderAudit(report: (e: unknown) => void): void {
  const root = $('#audit');
  if (!root.dataset.ready) {
    root.dataset.ready = '1';
    const field = (id: string, label: string, type = 'text') =>
      h('label', {}, h('span', {}, t(label)), h('input', { id, type, autocomplete: 'off' }));
    const form = h('form', { id: 'audit-form', class: 'inline-form' },
      field('au-actor', 'audit.actor'), field('au-action', 'audit.action'), field('au-target', 'audit.target'),
      field('au-q', 'audit.text'), field('au-from', 'audit.from', 'date'), field('au-to', 'audit.to', 'date'),
      h('button', { type: 'submit' }, t('audit.search')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      void search(report);
    });
    root.replaceChildren(h('p', { class: 'sub' }, t('audit.help')), form, h('div', { id: 'audit-results' }));
  }
  void search(report);
}

function auditQuery(csv: boolean): string {
  const p = new URLSearchParams();
  const v = (id: string) => ($(id) as HTMLInputElement).value.trim();
  if (v('#au-actor')) p.set('actor', v('#au-actor'));
  if (v('#au-action')) p.set('action', v('#au-action'));
  if (v('#au-target')) p.set('target', v('#au-target'));
  if (v('#au-q')) p.set('q', v('#au-q'));
  if (v('#au-from')) p.set('from', `${v('#au-from')}T00:00:00Z`);
  if (v('#au-to')) p.set('to', `${v('#au-to')}T23:59:59Z`);
  p.set('limit', '500');
  if (csv) p.set('format', 'csv');
  return `?${p.toString()}`;
}

async function search(report: (e: unknown) => void): Promise<void> {
  try {
    const entries = await api.auditEntries(auditQuery(false));
    $('#audit-results').replaceChildren(
      h('p', {}, t('audit.found', { n: entries.length }), ' ', csvLink(`/api/v1/audit/entries${auditQuery(true)}`)),
      h('table', { id: 'audit-table' },
        h('thead', {}, h('tr', {}, ...['audit.seq', 'audit.at', 'audit.actor', 'audit.action', 'audit.target', 'audit.detail'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, ...entries.map(entryRow))),
    );
  } catch (e) {
    report(e);
  }
}

export async function renderRegisters(report: (e: unknown) => void): Promise<void> {
  const [auths, exports, holds, purges] = await Promise.all([api.authorizations(), api.exports(), api.holds(), api.purges()]);
  const rerender = () => void renderRegisters(report).catch(report);
  const table = (id: string, heads: string[], rows: HTMLElement[]) =>
    h('table', { id }, h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', { scope: 'col' }, t(k))))), h('tbody', {}, ...rows));
  $('#registers').replaceChildren(
    h('h2', {}, t('reg.authorizations'), ' ', csvLink('/api/v1/registers/authorizations?format=csv')),
    table('reg-authorizations', ['reg.reference', 'reg.period', 'reg.sensors', 'reg.analytics', 'reg.in_force'], auths.map((a) =>
      h('tr', { class: a.in_force ? '' : 'revoked' }, h('td', {}, a.reference), h('td', {}, `${dateTime(a.start)} → ${dateTime(a.end)}`),
        h('td', {}, a.sensors.join(', ')), h('td', {}, a.analytics.map(kindLabel).join(', ')), h('td', {}, a.in_force ? t('reg.yes') : t('reg.no'))))),
    h('h2', {}, t('reg.extractions'), ' ', csvLink('/api/v1/exports?format=csv')),
    table('reg-extractions', ['exp.when', 'exp.requisition', 'exp.incident', 'exp.by', 'exp.status', 'reg.decided'], exports.map((e) =>
      h('tr', { 'data-export': e.id }, h('td', {}, dateTime(e.requested_at)),
        h('td', {}, `${e.requisition.number} — ${e.requisition.service} (${e.requisition.officer}, ${e.requisition.date})`),
        h('td', {}, h('code', {}, e.incident_id)), h('td', {}, e.requested_by), h('td', {}, t('exp.status.' + e.status)),
        h('td', {}, e.decided_by ? `${e.decided_by}, ${dateTime(e.decided_at)}` : '—')))),
    h('h2', {}, t('reg.holds'), ' ', csvLink('/api/v1/registers/holds?format=csv')),
    table('reg-holds', ['exp.incident', 'reg.since', 'reg.reason', 'acc.actions'], holds.map((x) => {
      const reason = h('input', { type: 'text', maxlength: 2000, 'aria-label': t('reg.release_reason'), placeholder: t('reg.release_reason') });
      return h('tr', { 'data-hold': x.incident_id }, h('td', {}, h('code', {}, x.incident_id)), h('td', {}, dateTime(x.since)), h('td', {}, x.reason),
        h('td', {}, reason, h('button', {
          type: 'button',
          onclick: async () => {
            try {
              await api.releaseHold(x.incident_id, reason.value);
              rerender();
            } catch (e) {
              report(e);
            }
          },
        }, t('reg.release'))));
    })),
    h('h2', {}, t('reg.purges'), ' ', csvLink('/api/v1/registers/purges?format=csv')),
    table('reg-purges', ['audit.at', 'reg.class', 'reg.count', 'audit.detail'], purges.map((p) =>
      h('tr', {}, h('td', {}, dateTime(p.at)), h('td', {}, t('tr.class.' + p.data_class)), h('td', {}, String(p.count)), h('td', {}, p.detail)))),
  );
}
