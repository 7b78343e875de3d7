// The public citizen report page: posts to `POST /api/v1/reports` (category, description,
// place, optional photo); the hub strips the photo's metadata, stores a `citizen.report`
// detection for its first citizen sensor and answers its id, shown as the reference number.
import * as L from 'leaflet';
import { api, ApiFailure } from './api';
import { getLang, setLang, t, translatePage } from './i18n';
import { $, h } from './util';

const CATEGORIES = ['lighting', 'roads', 'dumping', 'noise', 'vandalism', 'danger', 'other'];
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;

/** The file's bytes as base64 (without the `data:` prefix). */
function base64Of(file: File): Promise<string> {
  return new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => ok(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => fail(r.error ?? new Error('read failed'));
    r.readAsDataURL(file);
  });
}

let point: { lat: number; lon: number; uncertainty_m: number } | null = null;
let sensorId: string | null = null;
let marker: L.CircleMarker | null = null;

function labels(): void {
  translatePage();
  $('#lang').textContent = t('lang.switch');
  const sel = $('#category') as HTMLSelectElement;
  const cur = sel.value;
  sel.replaceChildren(...CATEGORIES.map((c) => h('option', { value: c }, t('cat.' + c))));
  if (cur) sel.value = cur;
  showWhere();
}

function showWhere(): void {
  $('#where').textContent = point ? t('report.located', { lat: point.lat.toFixed(5), lon: point.lon.toFixed(5) }) : '';
}

function place(map: L.Map, lat: number, lon: number, uncertainty_m: number): void {
  point = { lat, lon, uncertainty_m: Math.min(100000, Math.max(0, Math.round(uncertainty_m))) };
  if (marker) marker.setLatLng([lat, lon]);
  else marker = L.circleMarker([lat, lon], { radius: 10, color: '#fff', weight: 3, fillColor: '#ff9f43', fillOpacity: 1 }).addTo(map);
  showWhere();
}

async function start(): Promise<void> {
  setLang(getLang());
  labels();
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'fr' ? 'en' : 'fr');
    labels();
  });
  const map = L.map($('#report-map'), { center: [47.2155, -1.5555], zoom: 14 });
  map.attributionControl.setPrefix('Leaflet');
  map.on('click', (e: L.LeafletMouseEvent) => place(map, e.latlng.lat, e.latlng.lng, 25));
  const [basemap, zones, open] = await Promise.all([api.basemap(), api.zones(), api.transparency()]);
  const z = L.geoJSON(zones as any, { style: () => ({ color: '#7d8fa8', weight: 1, fillColor: '#1d2a3a', fillOpacity: 0.3 }), interactive: false }).addTo(map);
  L.geoJSON(basemap as any, { style: () => ({ color: '#8797ab', weight: 2, opacity: 0.8 }), interactive: false }).addTo(map);
  if (z.getBounds().isValid()) map.fitBounds(z.getBounds());
  sensorId = open.sensors.find((s) => s.type === 'citizen')?.id ?? null;
  if (!sensorId) {
    $('#error').textContent = t('report.unavailable');
    ($('#submit') as HTMLButtonElement).disabled = true;
  }
  $('#locate').addEventListener('click', () => {
    if (!navigator.geolocation) {
      $('#error').textContent = t('report.geofail');
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => {
        place(map, p.coords.latitude, p.coords.longitude, p.coords.accuracy);
        map.setView([p.coords.latitude, p.coords.longitude], 17);
      },
      () => ($('#error').textContent = t('report.geofail')),
      { enableHighAccuracy: true, timeout: 10000 },
    );
  });
  $('#report-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });
  $('#again').addEventListener('click', () => {
    ($('#report-form') as HTMLFormElement).reset();
    ($('#report-form') as HTMLFormElement).hidden = false;
    $('#done').hidden = true;
    labels();
  });
}

async function submit(): Promise<void> {
  const err = $('#error');
  err.textContent = '';
  const description = ($('#description') as HTMLTextAreaElement).value.trim();
  if (!description) {
    err.textContent = t('report.description');
    ($('#description') as HTMLTextAreaElement).focus();
    return;
  }
  if (!point) {
    err.textContent = t('report.nolocation');
    return;
  }
  if (!sensorId) return;
  const file = ($('#photo') as HTMLInputElement).files?.[0] ?? null;
  if (file && (!['image/jpeg', 'image/png'].includes(file.type) || file.size > MAX_PHOTO_BYTES)) {
    err.textContent = t('report.photobad');
    return;
  }
  const btn = $('#submit') as HTMLButtonElement;
  btn.disabled = true;
  btn.textContent = t('report.sending');
  try {
    const res = await api.postReport({
      category: ($('#category') as HTMLSelectElement).value,
      description: description.slice(0, 2000),
      lon: point.lon,
      lat: point.lat,
      uncertainty_m: point.uncertainty_m,
      ...(file ? { photo: { media_type: file.type, data_base64: await base64Of(file) } } : {}),
    });
    if (!res?.reference) throw new ApiFailure('no reference');
    $('#reference').textContent = res.reference;
    ($('#report-form') as HTMLFormElement).hidden = true;
    $('#done').hidden = false;
    point = null;
    marker?.remove();
    marker = null;
  } catch (e) {
    err.textContent = t('report.failed', { msg: e instanceof Error ? e.message : String(e) });
  } finally {
    btn.disabled = false;
    btn.textContent = t('report.submit');
  }
}

start().catch((e) => ($('#error').textContent = String(e)));
