// Evidence exports on a judicial requisition: the request form (from an incident), the
// list with the second person's decision, and the download within 24 hours.
import { api } from './api';
import { t } from './i18n';
import type { Me } from './types/me';
import type { ExportRecord } from './types/export';
import { $, dateTime, h } from './util';

/** Opens the request dialog for an incident; resolves once sent or cancelled. */
export function openExportRequest(incident: string, report: (e: unknown) => void): void {
  const d = $('#export-dialog') as HTMLDialogElement;
  ($('#export-incident') as HTMLElement).textContent = incident;
  $('#export-msg').textContent = '';
  const form = $('#export-form') as HTMLFormElement;
  form.reset();
  ($('#rq-date') as HTMLInputElement).value = new Date().toISOString().slice(0, 10);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const v = (id: string) => ($(id) as HTMLInputElement).value.trim();
    try {
      const e = await api.requestExport(
        incident,
        { service: v('#rq-service'), officer: v('#rq-officer'), number: v('#rq-number'), date: v('#rq-date') },
        v('#rq-reason'),
      );
      d.close();
      $('#status-msg').textContent = t('exp.requested', { id: e.id });
    } catch (err) {
      $('#export-msg').textContent = err instanceof Error ? err.message : String(err);
    }
  };
  $('#export-cancel').onclick = () => d.close();
  try {
    d.showModal();
  } catch (e) {
    report(e);
  }
}

function actions(e: ExportRecord, me: Me, rerender: () => void, report: (e: unknown) => void): (HTMLElement | string)[] {
  const mine = `user:${me.username}` === e.requested_by;
  const out: (HTMLElement | string)[] = [];
  if (e.status === 'requested' && me.role === 'supervisor' && !mine) {
    const note = h('input', { type: 'text', maxlength: 2000, 'aria-label': t('exp.note'), placeholder: t('exp.note') });
    const decide = (approve: boolean) => async () => {
      try {
        await api.decideExport(e.id, approve, note.value);
        rerender();
      } catch (err) {
        report(err);
      }
    };
    out.push(note, h('button', { type: 'button', 'data-decide': 'approve', onclick: decide(true) }, t('exp.approve')), ' ',
      h('button', { type: 'button', 'data-decide': 'refuse', onclick: decide(false) }, t('exp.refuse')));
  } else if (e.status === 'requested') {
    out.push(t(mine ? 'exp.waiting_other' : 'exp.waiting'));
  }
  const open = e.status === 'approved' && e.expires_at && Date.parse(e.expires_at) > Date.now();
  if (open && (mine || me.role === 'supervisor')) {
    out.push(h('a', { href: `/api/v1/exports/${encodeURIComponent(e.id)}/package`, download: `vigie-extraction-${e.id}.zip`, 'data-download': e.id }, t('exp.download')));
  }
  return out;
}

export async function renderExports(me: Me, report: (e: unknown) => void): Promise<void> {
  const list = await api.exports();
  const rerender = () => void renderExports(me, report).catch(report);
  $('#exports').replaceChildren(
    h('p', { class: 'sub' }, t('exp.help')),
    h('table', { id: 'exports-table' },
      h('thead', {}, h('tr', {}, ...['exp.id', 'exp.when', 'exp.requisition', 'exp.incident', 'exp.by', 'exp.status', 'acc.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ...list.map((e) =>
        h('tr', { 'data-export': e.id, 'data-status': e.status },
          h('td', {}, h('code', {}, e.id)),
          h('td', {}, dateTime(e.requested_at)),
          h('td', {}, `${e.requisition.number} — ${e.requisition.service} (${e.requisition.officer}, ${e.requisition.date})`),
          h('td', {}, h('code', {}, e.incident_id)),
          h('td', {}, e.requested_by),
          h('td', {}, t('exp.status.' + e.status), e.decided_by ? h('small', {}, ` (${e.decided_by})`) : ''),
          h('td', {}, ...actions(e, me, rerender, report)),
        ))),
    ),
  );
}
