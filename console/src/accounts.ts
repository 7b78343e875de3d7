// The administrator's view: accounts (one-time passwords, disabling) and device or service
// tokens (shown once, revocable). The administrator sees no incident and no evidence.
import { api } from './api';
import { t } from './i18n';
import type { Role } from './types/me';
import { $, dateTime, h } from './util';

const ROLES: Role[] = ['operator', 'supervisor', 'dpo', 'admin'];

/** A secret shown once, with the warning that it will not be shown again. */
function secretNotice(label: string, secret: string): HTMLElement {
  return h('p', { class: 'secret', role: 'alert' }, `${label} `, h('code', { 'data-secret': 'true' }, secret), ` — ${t('acc.once')}`);
}

export async function renderAccounts(report: (e: unknown) => void): Promise<void> {
  const root = $('#accounts');
  const [users, tokens, sensors] = await Promise.all([api.users(), api.tokens(), api.sensors()]);
  const notice = h('div', { id: 'acc-notice' });
  const rerender = () => void renderAccounts(report).catch(report);

  const userRows = users.map((u) =>
    h(
      'tr',
      { 'data-user': u.username },
      h('td', {}, u.username),
      h('td', {}, u.display_name),
      h('td', {}, t('role.' + u.role)),
      h('td', {}, u.disabled ? t('acc.disabled') : u.must_change_password ? t('acc.must_change') : t('acc.active')),
      h('td', {}, dateTime(u.password_changed_at)),
      h(
        'td',
        {},
        h('button', {
          type: 'button',
          onclick: async () => {
            try {
              const r = await api.userAction(u.username, 'reset_password');
              rerender();
              notice.replaceChildren(secretNotice(t('acc.otp_for', { user: u.username }), r.one_time_password ?? ''));
            } catch (e) {
              report(e);
            }
          },
        }, t('acc.reset')),
        ' ',
        h('button', {
          type: 'button',
          onclick: async () => {
            try {
              await api.userAction(u.username, u.disabled ? 'enable' : 'disable');
              rerender();
            } catch (e) {
              report(e);
            }
          },
        }, u.disabled ? t('acc.enable') : t('acc.disable')),
      ),
    ),
  );

  const newUser = h('form', { id: 'new-user', class: 'inline-form' },
    h('label', {}, h('span', {}, t('login.user')), h('input', { id: 'nu-name', required: true, pattern: "[A-Za-z0-9._\\-]{2,64}" })),
    h('label', {}, h('span', {}, t('acc.display')), h('input', { id: 'nu-display' })),
    h('label', {}, h('span', {}, t('acc.role')), h('select', { id: 'nu-role' }, ...ROLES.map((r) => h('option', { value: r }, t('role.' + r))))),
    h('button', { type: 'submit' }, t('acc.create')),
  );
  newUser.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = ($('#nu-name') as HTMLInputElement).value.trim();
    try {
      const r = await api.createUser(name, ($('#nu-role') as HTMLSelectElement).value as Role, ($('#nu-display') as HTMLInputElement).value.trim() || name);
      await renderAccounts(report);
      $('#acc-notice').replaceChildren(secretNotice(t('acc.otp_for', { user: r.username }), r.one_time_password));
    } catch (e) {
      report(e);
    }
  });

  const tokenRows = tokens.map((k) =>
    h(
      'tr',
      { 'data-token': k.id, class: k.revoked_at ? 'revoked' : '' },
      h('td', {}, k.label),
      h('td', {}, h('code', {}, k.id)),
      h('td', {}, k.sensors.includes('*') ? t('acc.all_sensors') : k.sensors.join(', ') || '—'),
      h('td', {}, k.role ? t('role.' + k.role) : '—'),
      h('td', {}, `${dateTime(k.created_at)} (${k.created_by})`),
      h('td', {}, k.revoked_at
        ? t('acc.revoked_at', { at: dateTime(k.revoked_at) })
        : h('button', {
            type: 'button',
            onclick: async () => {
              try {
                await api.revokeToken(k.id);
                rerender();
              } catch (e) {
                report(e);
              }
            },
          }, t('acc.revoke'))),
    ),
  );

  const newToken = h('form', { id: 'new-token', class: 'inline-form' },
    h('label', {}, h('span', {}, t('acc.label')), h('input', { id: 'nt-label', required: true, maxlength: 100 })),
    h('label', {}, h('span', {}, t('acc.sensors')),
      h('select', { id: 'nt-sensors', multiple: true, size: 4 }, h('option', { value: '*' }, t('acc.all_sensors')), ...sensors.map((s) => h('option', { value: s.id }, `${s.id} — ${s.name}`)))),
    h('label', {}, h('span', {}, t('acc.role')),
      h('select', { id: 'nt-role' }, h('option', { value: '' }, t('acc.no_role')), h('option', { value: 'operator' }, t('role.operator')), h('option', { value: 'supervisor' }, t('role.supervisor')))),
    h('button', { type: 'submit' }, t('acc.issue')),
  );
  newToken.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const sel = [...($('#nt-sensors') as HTMLSelectElement).selectedOptions].map((o) => o.value);
    const role = (($('#nt-role') as HTMLSelectElement).value || null) as Role | null;
    try {
      const r = await api.createToken(($('#nt-label') as HTMLInputElement).value.trim(), sel.includes('*') ? ['*'] : sel, role);
      await renderAccounts(report);
      $('#acc-notice').replaceChildren(secretNotice(t('acc.token_for', { label: r.label }), r.token));
    } catch (e) {
      report(e);
    }
  });

  root.replaceChildren(
    notice,
    h('h2', {}, t('acc.users')),
    h('table', { id: 'users-table' },
      h('thead', {}, h('tr', {}, ...['login.user', 'acc.display', 'acc.role', 'acc.state', 'acc.changed', 'acc.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ...userRows)),
    newUser,
    h('h2', {}, t('acc.tokens')),
    h('p', { class: 'sub' }, t('acc.tokens_help')),
    h('table', { id: 'tokens-table' },
      h('thead', {}, h('tr', {}, ...['acc.label', 'acc.id', 'acc.sensors', 'acc.role', 'acc.created', 'acc.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ...tokenRows)),
    newToken,
  );
}
