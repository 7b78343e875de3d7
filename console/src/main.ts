// The console: who signs in decides what it shows. Operators and supervisors: the live
// incident queue and map, incident detail, dashboard, sensors. The administrator: sensors,
// accounts and tokens. Nobody sees a view their role may not read.
import 'leaflet';
import { api, whenSignedOut } from './api';
import { renderAccounts } from './accounts';
import { renderAudit, renderRegisters } from './dpo';
import { renderExports } from './exports';
import { renderSocial } from './social';
import { signIn, signOut } from './auth';
import { getLang, setLang, t, translatePage } from './i18n';
import { VigieMap } from './map';
import { Queue } from './queue';
import { renderDashboard } from './dashboard';
import { renderSensors } from './sensors';
import { leaveWall, openOnWall, renderWall } from './wall';
import { leavePlayback, renderPlayback } from './playback';
import { beep, isMuted, setMuted, unlockAudio } from './sound';
import { state, upsert } from './state';
import type { IncidentChange } from './types/incident';
import type { Me, Role } from './types/me';
import type { SensorPositionEvent } from './types/sensor';
import { $, h } from './util';

type View = 'incidents' | 'dashboard' | 'sensors' | 'social' | 'exports' | 'wall' | 'playback' | 'audit' | 'registers' | 'accounts';
const ALL_VIEWS: View[] = ['incidents', 'dashboard', 'sensors', 'social', 'exports', 'wall', 'playback', 'audit', 'registers', 'accounts'];

/** The views each role may open, in the order of the 1, 2, 3… keys. */
const VIEWS_FOR: Record<Role, View[]> = {
  operator: ['incidents', 'dashboard', 'sensors', 'exports', 'wall', 'playback'],
  supervisor: ['incidents', 'dashboard', 'sensors', 'exports', 'wall', 'playback'],
  dpo: ['audit', 'registers'],
  admin: ['sensors', 'accounts'],
};
let views: View[] = [];
let operations = false;
let me: Me | null = null;

// Made once the console is shown: Leaflet needs the map's size.
let map!: VigieMap;
let queue!: Queue;
let view: View = 'incidents';
let dashTimer = 0;
let readyMarked = false;

declare global {
  interface Window {
    /** performance.now() when the first frame with the loaded queue and the map was painted (bench console). */
    __vigieReady?: number;
  }
}

function setView(v: View, at?: { cameras: string[]; at: number }): void {
  if (!views.includes(v)) return;
  // Leaving the wall closes every live tile's socket.
  if (view === 'wall' && v !== 'wall') leaveWall();
  if (view === 'playback' && v !== 'playback') leavePlayback();
  view = v;
  for (const name of ALL_VIEWS) {
    $(`#view-${name}`).hidden = name !== v;
    const tab = $(`#tab-${name}`);
    if (name === v) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  // A narrow header scrolls its tabs: the current one is brought into view.
  $(`#tab-${v}`).scrollIntoView({ block: 'nearest', inline: 'nearest' });
  if (v === 'incidents') map.mount($('#map-slot-incidents'));
  if (v === 'sensors') {
    map.mount($('#map-slot-sensors'));
    renderSensors(map);
  }
  if (v === 'dashboard') void renderDashboard(map).catch(report);
  if (v === 'accounts') void renderAccounts(report).catch(report);
  if (v === 'exports' && me) void renderExports(me, report).catch(report);
  if (v === 'audit') renderAudit(report);
  if (v === 'registers') void renderRegisters(report).catch(report);
  if (v === 'social') renderSocial(report);
  if (v === 'wall') void renderWall(report, at).catch(report);
  if (v === 'playback') void renderPlayback(report, at?.cameras, at?.at).catch(report);
  if (location.hash !== `#${v}`) history.replaceState(null, '', `#${v}`);
}

function report(e: unknown): void {
  $('#status-msg').textContent = e instanceof Error ? e.message : String(e);
}

async function loadIncidents(): Promise<void> {
  const f = state.filter.state;
  const q = f === 'open' || f === '' ? '?state=open&limit=5000' : f === 'all' ? '?limit=5000' : `?state=${f}&limit=5000`;
  const list = await api.incidents(q);
  for (const i of list) upsert(i);
  fillTypeFilter();
  queue.render();
  if (!readyMarked) {
    readyMarked = true;
    // The queue renders in the next frame; the timeout runs once that frame is painted.
    requestAnimationFrame(() => setTimeout(() => (window.__vigieReady = performance.now())));
  }
}

function fillTypeFilter(): void {
  const sel = $('#f-type') as HTMLSelectElement;
  const cur = sel.value;
  const types = [...state.types].sort((a, b) => a[1].localeCompare(b[1]));
  if (sel.options.length - 1 === types.length) return;
  sel.replaceChildren(h('option', { value: '' }, t('filter.all')), ...types.map(([id, title]) => h('option', { value: id }, title)));
  sel.value = cur;
}

function fillStaticFilters(): void {
  const d = $('#f-district') as HTMLSelectElement;
  const curD = d.value;
  d.replaceChildren(h('option', { value: '' }, t('filter.all')), ...state.districts.map((z) => h('option', { value: z.id }, z.name)));
  d.value = curD;
  const s = $('#f-state') as HTMLSelectElement;
  const curS = s.value || 'open';
  s.replaceChildren(
    h('option', { value: 'open' }, t('filter.open')),
    ...['new', 'acknowledged', 'in_progress', 'resolved', 'closed'].map((x) => h('option', { value: x }, t('state.' + x))),
    h('option', { value: 'all' }, t('filter.all')),
  );
  s.value = curS;
  const ty = $('#f-type') as HTMLSelectElement;
  if (ty.options.length && ty.options[0].value === '') ty.options[0].textContent = t('filter.all');
}

function connect(): void {
  const live = $('#live');
  const es = new EventSource('/api/v1/stream');
  es.addEventListener('hello', () => {
    live.className = 'live on';
    live.textContent = t('live.on');
    void loadIncidents().catch(report);
  });
  es.addEventListener('incident', (ev) => {
    const m = JSON.parse((ev as MessageEvent).data) as IncidentChange;
    const before = state.incidents.get(m.incident.id);
    if (!upsert(m.incident)) return;
    if (m.incident.priority === 'critical' && m.change !== 'end' && (!before || before.priority !== 'critical')) beep();
    fillTypeFilter();
    queue.renderLive();
    if (view === 'dashboard') {
      clearTimeout(dashTimer);
      dashTimer = window.setTimeout(() => void renderDashboard(map).catch(report), 1500);
    }
  });
  // Mobile sensors (drones, onboard cameras) move on the map as their fixes arrive.
  es.addEventListener('sensor_position', (ev) => {
    const m = JSON.parse((ev as MessageEvent).data) as SensorPositionEvent;
    map.moveSensor(m.sensor, m.position);
  });
  es.addEventListener('lagged', () => void loadIncidents().catch(report));
  es.onerror = () => {
    live.className = 'live off';
    live.textContent = t('live.off');
  };
}

function refreshLabels(): void {
  translatePage();
  $('#sound').textContent = isMuted() ? t('sound.off') : t('sound.on');
  $('#sound').setAttribute('aria-pressed', String(!isMuted()));
  $('#lang').textContent = t('lang.switch');
  const live = $('#live');
  live.textContent = live.classList.contains('on') ? t('live.on') : t('live.off');
  fillStaticFilters();
  if (operations) queue.render();
  if (view === 'sensors') renderSensors(map);
  if (view === 'dashboard') void renderDashboard(map).catch(report);
  if (view === 'accounts') void renderAccounts(report).catch(report);
  if (view === 'exports' && me) void renderExports(me, report).catch(report);
  if (view === 'registers') void renderRegisters(report).catch(report);
  if (view === 'wall') void renderWall(report).catch(report);
  if (view === 'playback') void renderPlayback(report).catch(report);
}

function toggleHelp(show?: boolean): void {
  const d = $('#help') as HTMLDialogElement;
  const open = show ?? !d.open;
  if (open && !d.open) d.showModal();
  if (!open && d.open) d.close();
}

function onKey(e: KeyboardEvent): void {
  unlockAudio();
  const tgt = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (tgt.closest('input, textarea, select, [contenteditable]')) {
    if (e.key === 'Escape') tgt.blur();
    return;
  }
  if (($('#help') as HTMLDialogElement).open && e.key !== '?') return;
  switch (e.key) {
    case 'j':
      if (view === 'incidents') queue.move(1);
      break;
    case 'k':
      if (view === 'incidents') queue.move(-1);
      break;
    case 'Enter':
      if (view === 'incidents' && state.selected && !tgt.closest('button, a')) void queue.open(state.selected);
      else return;
      break;
    case 'a':
      if (operations) void queue.act({ action: 'acknowledge' });
      break;
    case 's':
      if (operations) void queue.act({ action: 'start' });
      break;
    case 'e':
      if (operations) void queue.act({ action: 'escalate' });
      break;
    case 'Escape':
      queue.close();
      break;
    case '?':
      toggleHelp();
      break;
    case 'm':
      setMuted(!isMuted());
      refreshLabels();
      break;
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
      if (views[Number(e.key) - 1]) setView(views[Number(e.key) - 1]);
      break;
    default:
      return;
  }
  e.preventDefault();
}

async function start(): Promise<void> {
  setLang(getLang());
  translatePage();
  const me = await signIn();
  whenSignedOut(() => location.reload());
  await boot(me);
}

async function boot(who: Me): Promise<void> {
  me = who;
  views = who.role ? [...VIEWS_FOR[who.role]] : [];
  operations = who.role === 'operator' || who.role === 'supervisor';
  $('#signin').hidden = true;
  $('#app').hidden = false;
  map = new VigieMap($('#map'));
  queue = new Queue(map);
  // Online-media search only where the hub has an index ([social] index).
  const socialSearch = operations && (await api.health().then((x) => x.social_search).catch(() => false));
  if (socialSearch) views.splice(3, 0, 'social');
  for (const tab of document.querySelectorAll<HTMLElement>('nav [data-roles]')) {
    tab.hidden = !views.includes(tab.id.slice(4) as View);
  }
  $('#whoami').textContent = `${who.display_name} · ${who.role ? t('role.' + who.role) : ''}`;
  $('#logout').addEventListener('click', () => void signOut());
  for (const id of ['#sound', '#live']) $(id).hidden = !operations;
  refreshLabels();
  document.addEventListener('keydown', onKey);
  document.addEventListener('pointerdown', unlockAudio, { once: true });
  for (const name of ALL_VIEWS) {
    $(`#tab-${name}`).addEventListener('click', (e) => {
      e.preventDefault();
      setView(name);
    });
  }
  $('#sound').addEventListener('click', () => {
    unlockAudio();
    setMuted(!isMuted());
    refreshLabels();
  });
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'fr' ? 'en' : 'fr');
    refreshLabels();
  });
  $('#help-open').addEventListener('click', () => toggleHelp(true));
  $('#help-close').addEventListener('click', () => toggleHelp(false));
  for (const [id, key] of [['#f-type', 'type'], ['#f-district', 'district'], ['#f-state', 'state']] as const) {
    $(id).addEventListener('change', () => {
      state.filter[key] = ($(id) as HTMLSelectElement).value;
      if (key === 'state') void loadIncidents().catch(report);
      else queue.render();
    });
  }
  $('#sensor-search').addEventListener('input', () => renderSensors(map));
  // "Watch the recording" in an incident's detail.
  document.addEventListener('vigie:playback', (e) => {
    const d = (e as CustomEvent<{ cameras: string[]; at: number }>).detail;
    if (view === 'playback') void renderPlayback(report, d.cameras, d.at).catch(report);
    else setView('playback', d);
  });
  // "Open its cameras on the wall": the wall plays their recordings from the incident's time.
  document.addEventListener('vigie:wall', (e) => {
    const d = (e as CustomEvent<{ cameras: string[]; at: number }>).detail;
    if (view === 'wall') openOnWall(d.cameras, d.at);
    else setView('wall', d);
  });
  const seesSensors = views.includes('sensors');
  const [zones, basemap, sensors] = await Promise.all([api.zones(), api.basemap(), seesSensors ? api.sensors() : Promise.resolve([])]);
  map.setBasemap(basemap);
  map.setZones(zones);
  state.districts = zones.features.map((f) => ({ id: String(f.properties.id), name: String(f.properties.name ?? f.properties.id) }));
  state.sensors = sensors;
  map.setSensors(sensors);
  fillStaticFilters();
  if (operations) connect();
  const initial = location.hash.slice(1) as View;
  if (views.length) setView(views.includes(initial) ? initial : views[0]);
  // Sensor health and relative times move on their own: refresh them now and then.
  window.setInterval(async () => {
    if (!seesSensors) return;
    try {
      state.sensors = await api.sensors();
      map.setSensors(state.sensors);
      if (view === 'sensors') renderSensors(map);
    } catch (e) {
      report(e);
    }
    if (operations) queue.render();
  }, 30_000);
}

start().catch(report);
