// Signing in: the console asks who is signed in (GET /api/v1/me); if nobody, it shows the
// sign-in form; a one-time password must be replaced before anything else.
import { api, ApiFailure, setCsrf } from './api';
import { t } from './i18n';
import type { Me } from './types/me';
import { $ } from './util';

function showForm(id: 'login-form' | 'password-form'): void {
  $('#signin').hidden = false;
  $('#app').hidden = true;
  $('#login-form').hidden = id !== 'login-form';
  $('#password-form').hidden = id !== 'password-form';
  $('#signin-msg').textContent = '';
  const first = $(`#${id} input`) as HTMLInputElement;
  first.focus();
}

function failure(e: unknown): string {
  if (e instanceof ApiFailure && e.status === 401) return t('login.bad');
  if (e instanceof ApiFailure && e.status === 429) return t('login.locked');
  return e instanceof Error ? e.message : String(e);
}

/** Resolves once someone is signed in with a usable session. */
export async function signIn(): Promise<Me> {
  const me = await api.me();
  if (me.kind !== 'anonymous') {
    setCsrf(me.csrf_token);
    return me.must_change_password ? changePassword(null) : me;
  }
  return new Promise<Me>((resolve) => {
    showForm('login-form');
    const form = $('#login-form') as HTMLFormElement;
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const user = ($('#login-user') as HTMLInputElement).value.trim();
      const pass = ($('#login-pass') as HTMLInputElement).value;
      $('#signin-msg').textContent = t('login.wait');
      try {
        const me = await api.login(user, pass);
        ($('#login-pass') as HTMLInputElement).value = '';
        setCsrf(me.csrf_token);
        resolve(me.must_change_password ? await changePassword(pass) : me);
      } catch (err) {
        $('#signin-msg').textContent = failure(err);
        ($('#login-pass') as HTMLInputElement).select();
      }
    };
  });
}

/** The one-time password must go: asks for a new one (and the current one if unknown). */
function changePassword(current: string | null): Promise<Me> {
  return new Promise<Me>((resolve) => {
    showForm('password-form');
    ($('#pw-current') as HTMLInputElement).value = current ?? '';
    $('#pw-current-row').hidden = current !== null;
    const form = $('#password-form') as HTMLFormElement;
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const cur = ($('#pw-current') as HTMLInputElement).value;
      const next = ($('#pw-new') as HTMLInputElement).value;
      if (next !== ($('#pw-again') as HTMLInputElement).value) {
        $('#signin-msg').textContent = t('login.mismatch');
        return;
      }
      try {
        const me = await api.changePassword(cur, next);
        for (const id of ['#pw-current', '#pw-new', '#pw-again']) ($(id) as HTMLInputElement).value = '';
        setCsrf(me.csrf_token);
        resolve(me);
      } catch (err) {
        $('#signin-msg').textContent = failure(err);
      }
    };
  });
}

/** Ends the session and reloads into the sign-in form. */
export async function signOut(): Promise<void> {
  try {
    await api.logout();
  } finally {
    location.reload();
  }
}
