// The map: offline by default (streets and districts drawn from the hub), an optional tile
// server (`?tiles=https://…/{z}/{x}/{y}.png`), sensors clustered on a pixel grid so that
// tens of thousands stay fluid, camera fields of view, incidents by priority. Mobile sensors
// (drones, onboard cameras) are drawn at their newest position and move on `sensor_position`.
import * as L from 'leaflet';
import type { PositionFix, Sensor } from './types/sensor';
import type { Incident } from './types/incident';
import type { FeatureCollection } from './types/zone';
import { t, kindLabel } from './i18n';
import { ago } from './util';

export type Health = 'online' | 'offline' | 'unknown';

/** Online: an `online` status or a detection in the last 15 minutes; offline: status `offline`. */
export function sensorHealth(s: Sensor, now = Date.now()): Health {
  const st = s.health?.status;
  if (st === 'offline') return 'offline';
  if (st === 'online') return 'online';
  const last = s.health?.last_detection;
  if (last && now - Date.parse(last) < 15 * 60 * 1000) return 'online';
  return 'unknown';
}

/** A translation, or `fallback` while the dictionaries lack the key. */
/** A mobile sensor is drawn where its newest fix puts it, facing that fix's heading. */
function placed(s: Sensor): Sensor {
  const p = s.position;
  if (!s.mobile || !p) return s;
  const fov = s.field_of_view && typeof p.heading_deg === 'number' ? { ...s.field_of_view, heading_deg: p.heading_deg } : s.field_of_view;
  return { ...s, lon: p.lon, lat: p.lat, field_of_view: fov };
}

const GLYPH: Record<string, string> = { camera: 'V', microphone: 'A', flows: 'F', social: 'S', citizen: 'C' };
const CELL_PX = 56;
/** Zoom from which every sensor is drawn alone and camera fields of view appear. */
const DETAIL_ZOOM = 16;

export class VigieMap {
  readonly map: L.Map;
  private sensors: Sensor[] = [];
  private sensorLayer = L.layerGroup();
  private fovLayer = L.layerGroup();
  private incidentLayer = L.layerGroup();
  private focusLayer = L.layerGroup();
  /** Incidents on one canvas: thousands of SVG paths restyled live cost whole frames. */
  private incidentRenderer = L.canvas({ padding: 0.05, tolerance: 3 });
  private incidentMarkers = new Map<string, { m: L.CircleMarker; key: string; i: Incident }>();
  /** Pulsing rings for the newest `new` incidents: HTML, animated by the compositor. */
  private pulseLayer = L.layerGroup();
  private pulses = new Map<string, L.Marker>();
  private districtNames = new Map<string, string>();
  /** The sensors as the hub listed them (mobile ones before placing). */
  private declared = new Map<string, Sensor>();
  private redraw = 0;
  onIncidentClick: (id: string) => void = () => {};

  constructor(container: HTMLElement) {
    this.map = L.map(container, {
      center: [47.2155, -1.5555],
      zoom: 15,
      zoomControl: true,
      attributionControl: true,
      preferCanvas: false,
    });
    this.map.attributionControl.setPrefix('Leaflet');
    const tiles = new URLSearchParams(location.search).get('tiles') ?? safeStorage('vigie.tiles');
    if (tiles && /^https?:\/\//.test(tiles)) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: new URL(tiles.replace(/[{}]/g, '')).host }).addTo(this.map);
      container.classList.add('has-tiles');
    }
    this.map.createPane('streets').style.zIndex = '300';
    this.fovLayer.addTo(this.map);
    this.sensorLayer.addTo(this.map);
    this.incidentLayer.addTo(this.map);
    this.pulseLayer.addTo(this.map);
    this.focusLayer.addTo(this.map);
    this.map.on('moveend zoomend', () => this.drawSensors());
  }

  districtName(id: string | null | undefined): string {
    if (!id) return t('detail.none');
    return this.districtNames.get(id) ?? id;
  }

  setBasemap(fc: FeatureCollection): void {
    L.geoJSON(fc as any, {
      pane: 'streets',
      interactive: false,
      style: (f) => {
        const cls = String(f?.properties?.class ?? '');
        return { color: '#5b6b80', weight: cls === 'primary' ? 4 : cls === 'secondary' ? 2.5 : 1.5, opacity: 0.8 };
      },
    }).addTo(this.map);
  }

  setZones(fc: FeatureCollection): void {
    for (const f of fc.features) this.districtNames.set(String(f.properties.id), String(f.properties.name ?? f.properties.id));
    const layer = L.geoJSON(fc as any, {
      style: () => ({ color: '#7d8fa8', weight: 1.5, dashArray: '4 4', fillColor: '#1d2a3a', fillOpacity: 0.35 }),
      onEachFeature: (f, l) => {
        l.bindTooltip(String(f.properties?.name ?? ''), { sticky: true, className: 'zone-tip' });
      },
    }).addTo(this.map);
    layer.bringToBack();
    const b = layer.getBounds();
    if (b.isValid()) this.map.fitBounds(b, { padding: [10, 10] });
  }

  setSensors(sensors: Sensor[]): void {
    const first = this.sensors.length === 0;
    this.declared = new Map(sensors.map((s) => [s.id, s]));
    this.sensors = sensors.map(placed).filter((s) => typeof s.lon === 'number' && typeof s.lat === 'number');
    // No districts to frame the map: frame the sensors instead, once.
    if (first && this.districtNames.size === 0 && this.sensors.length) {
      let [s, w, n, e] = [90, 180, -90, -180];
      for (const x of this.sensors) {
        s = Math.min(s, x.lat!);
        n = Math.max(n, x.lat!);
        w = Math.min(w, x.lon!);
        e = Math.max(e, x.lon!);
      }
      this.map.fitBounds([[s, w], [n, e]], { padding: [10, 10] });
    }
    this.drawSensors();
  }

  /** Where a sensor is drawn now (a mobile one: at its newest fix). */
  whereIs(id: string): { lat: number; lon: number } | null {
    const s = this.sensors.find((x) => x.id === id);
    return s && typeof s.lat === 'number' && typeof s.lon === 'number' ? { lat: s.lat, lon: s.lon } : null;
  }

  /** Moves a mobile sensor to a new fix (from the live stream); redrawn once per frame. */
  moveSensor(id: string, position: PositionFix): void {
    const s = this.declared.get(id);
    if (!s?.mobile) return;
    const newer = !s.position || Date.parse(position.time) >= Date.parse(s.position.time);
    if (!newer) return;
    const moved = { ...s, position };
    this.declared.set(id, moved);
    const i = this.sensors.findIndex((x) => x.id === id);
    if (i >= 0) this.sensors[i] = placed(moved);
    else this.sensors.push(placed(moved));
    if (!this.redraw) {
      this.redraw = requestAnimationFrame(() => {
        this.redraw = 0;
        this.drawSensors();
      });
    }
  }

  /** Grid clustering in screen space, on the visible area only. */
  private drawSensors(): void {
    this.sensorLayer.clearLayers();
    this.fovLayer.clearLayers();
    const zoom = this.map.getZoom();
    const bounds = this.map.getBounds().pad(0.2);
    const now = Date.now();
    const cells = new Map<string, Sensor[]>();
    for (const s of this.sensors) {
      const ll = L.latLng(s.lat!, s.lon!);
      if (!bounds.contains(ll)) continue;
      const p = this.map.latLngToLayerPoint(ll);
      const key = zoom >= DETAIL_ZOOM ? s.id : `${Math.floor(p.x / CELL_PX)}:${Math.floor(p.y / CELL_PX)}`;
      const list = cells.get(key);
      if (list) list.push(s);
      else cells.set(key, [s]);
    }
    for (const list of cells.values()) {
      if (list.length === 1) {
        const s = list[0];
        const health = sensorHealth(s, now);
        // Mobile: a dashed outline and a pointer in the direction it faces.
        const heading = s.position?.heading_deg;
        const arrow =
          s.mobile && typeof heading === 'number'
            ? `<span class="sensor-heading" style="transform:rotate(${Math.round(heading)}deg)">▲</span>`
            : '';
        const cls = `sensor-icon type-${cssIdent(s.type)} health-${health}${s.mobile ? ' mobile' : ''}`;
        const icon = L.divIcon({
          className: '',
          html: `<span class="${cls}" aria-hidden="true">${GLYPH[s.type] ?? '?'}${arrow}</span>`,
          iconSize: [22, 22],
        });
        const m = L.marker([s.lat!, s.lon!], { icon, keyboard: false, title: s.name ?? s.id, alt: s.name ?? s.id });
        m.bindPopup(() => sensorPopup(s, health));
        this.sensorLayer.addLayer(m);
        if (zoom >= DETAIL_ZOOM - 1 && s.field_of_view) this.fovLayer.addLayer(wedge(s, health));
      } else {
        let lat = 0;
        let lon = 0;
        let off = 0;
        for (const s of list) {
          lat += s.lat!;
          lon += s.lon!;
          if (sensorHealth(s, now) === 'offline') off++;
        }
        const n = list.length;
        const size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : 48;
        const icon = L.divIcon({
          className: '',
          html: `<span class="sensor-cluster${off ? ' has-offline' : ''}" style="width:${size}px;height:${size}px;line-height:${size}px">${n}</span>`,
          iconSize: [size, size],
        });
        const m = L.marker([lat / n, lon / n], { icon, keyboard: false, title: `${n}` });
        m.on('click', () => this.map.setView(m.getLatLng(), Math.min(this.map.getZoom() + 2, 19)));
        this.sensorLayer.addLayer(m);
      }
    }
  }

  /** Draws the incidents; only those whose version or selection changed are touched. */
  setIncidents(list: Incident[], selected: string | null): void {
    const keep = new Set<string>();
    const pulsing = new Set<string>();
    for (const i of list) {
      keep.add(i.id);
      if (i.state === 'new' && pulsing.size < MAX_PULSES) pulsing.add(i.id);
      const key = `${i.version}|${i.id === selected ? 1 : 0}`;
      const had = this.incidentMarkers.get(i.id);
      if (had && had.key === key) continue;
      const style = incidentStyle(i, i.id === selected);
      if (!had) {
        const m = L.circleMarker([i.lat, i.lon], { ...style, renderer: this.incidentRenderer });
        m.on('click', () => this.onIncidentClick(i.id));
        const entry = { m, key, i };
        m.bindTooltip(() => `${t('prio.' + entry.i.priority)} · ${entry.i.title}`, { direction: 'top', offset: [0, -8] });
        this.incidentMarkers.set(i.id, entry);
        this.incidentLayer.addLayer(m);
      } else {
        had.key = key;
        had.i = i;
        const ll = had.m.getLatLng();
        if (ll.lat !== i.lat || ll.lng !== i.lon) had.m.setLatLng([i.lat, i.lon]);
        had.m.setStyle(style);
        had.m.setRadius(style.radius!);
      }
      if (i.id === selected) this.incidentMarkers.get(i.id)!.m.bringToFront();
    }
    for (const [id, e] of this.incidentMarkers) {
      if (!keep.has(id)) {
        this.incidentLayer.removeLayer(e.m);
        this.incidentMarkers.delete(id);
      }
    }
    if (reducedMotion()) pulsing.clear();
    for (const [id, p] of this.pulses) {
      if (!pulsing.has(id)) {
        this.pulseLayer.removeLayer(p);
        this.pulses.delete(id);
      }
    }
    for (const id of pulsing) {
      if (this.pulses.has(id)) continue;
      const i = this.incidentMarkers.get(id)!.i;
      const d = 2 * ((PRIO_RADIUS[i.priority] ?? 8) + 6);
      const icon = L.divIcon({ className: 'incident-pulse', html: '<span></span>', iconSize: [d, d] });
      const p = L.marker([i.lat, i.lon], { icon, interactive: false, keyboard: false });
      this.pulses.set(id, p);
      this.pulseLayer.addLayer(p);
    }
  }

  focusIncident(i: Incident | null): void {
    this.focusLayer.clearLayers();
    if (!i) return;
    L.circle([i.lat, i.lon], {
      radius: Math.max(30, i.radius_m),
      color: '#f5f7fa',
      weight: 2,
      dashArray: '6 6',
      fill: false,
      interactive: false,
    }).addTo(this.focusLayer);
    this.map.flyTo([i.lat, i.lon], Math.max(this.map.getZoom(), 16), { duration: 0.5 });
  }

  focusPoint(lat: number, lon: number): void {
    this.map.flyTo([lat, lon], Math.max(this.map.getZoom(), 17), { duration: 0.5 });
  }

  /** Moves the map into another view's slot. */
  mount(slot: HTMLElement): void {
    const c = this.map.getContainer();
    if (c.parentElement !== slot) {
      slot.append(c);
      this.map.invalidateSize();
    }
  }
}

function safeStorage(k: string): string | null {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
}

function cssIdent(s: string): string {
  return s.replace(/[^a-z0-9_-]/gi, '');
}

/** New incidents that pulse at once, the most urgent first. */
const MAX_PULSES = 20;

function reducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

const PRIO_COLOR: Record<string, string> = { critical: '#ff5c5c', high: '#ff9f43', medium: '#f7d154', low: '#6cb6ff' };
const PRIO_RADIUS: Record<string, number> = { critical: 13, high: 11, medium: 9, low: 8 };

function incidentStyle(i: Incident, selected: boolean): L.CircleMarkerOptions {
  const open = i.state === 'new' || i.state === 'acknowledged' || i.state === 'in_progress';
  return {
    radius: PRIO_RADIUS[i.priority] ?? 8,
    color: selected ? '#ffffff' : '#0b1118',
    weight: selected ? 3 : 2,
    fillColor: PRIO_COLOR[i.priority] ?? '#aaa',
    fillOpacity: open ? 0.95 : 0.35,
  };
}

function sensorPopup(s: Sensor, health: Health): HTMLElement {
  const d = document.createElement('div');
  d.className = 'popup';
  const title = document.createElement('strong');
  title.textContent = s.name ?? s.id;
  const lines = [
    `${t('type.' + s.type)} · ${s.id}`,
    `${t('sens.status')} : ${t('health.' + health)}`,
    `${t('sens.last')} : ${ago(s.health?.last_detection)}`,
    s.analytics.map(kindLabel).join(', '),
  ];
  if (s.mobile) {
    const where = s.position ? ago(s.position.time) : t('sens.no_position');
    lines.push(`${t('sens.mobile')} : ${where}`);
  }
  d.append(title);
  for (const l of lines) {
    const p = document.createElement('div');
    p.textContent = l;
    d.append(p);
  }
  return d;
}

/** A camera's field of view as a wedge polygon (heading clockwise from north). */
function wedge(s: Sensor, health: Health): L.Polygon {
  const f = s.field_of_view!;
  const lat0 = s.lat!;
  const lon0 = s.lon!;
  const mPerDegLat = 111_320;
  const mPerDegLon = 111_320 * Math.cos((lat0 * Math.PI) / 180);
  const pts: L.LatLngExpression[] = [[lat0, lon0]];
  const steps = 12;
  for (let k = 0; k <= steps; k++) {
    const a = ((f.heading_deg - f.fov_deg / 2 + (f.fov_deg * k) / steps) * Math.PI) / 180;
    pts.push([lat0 + (Math.cos(a) * f.range_m) / mPerDegLat, lon0 + (Math.sin(a) * f.range_m) / mPerDegLon]);
  }
  const color = health === 'offline' ? '#ff5c5c' : '#8fd3ff';
  return L.polygon(pts, { color, weight: 1, opacity: 0.6, fillColor: color, fillOpacity: 0.12, interactive: false });
}
