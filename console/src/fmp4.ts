// A small reader of the recorder's fragmented MP4 (ISO/IEC 14496-12), for the video wall's
// WebCodecs player: the decoder configuration from the init segment (avcC), and each
// fragment's samples (time, duration, keyframe, bytes). One video track; no audio.

interface Box {
  type: string;
  start: number;
  payload: number;
  end: number;
}

function boxes(v: DataView, from: number, to: number): Box[] {
  const out: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = v.getUint32(at);
    const type = String.fromCharCode(v.getUint8(at + 4), v.getUint8(at + 5), v.getUint8(at + 6), v.getUint8(at + 7));
    let payload = at + 8;
    if (size === 1) {
      size = Number(v.getBigUint64(at + 8));
      payload = at + 16;
    } else if (size === 0) size = to - at;
    if (size < 8 || at + size > to) break;
    out.push({ type, start: at, payload, end: at + size });
    at += size;
  }
  return out;
}

function child(v: DataView, b: Box | undefined, type: string, skip = 0): Box | undefined {
  return b ? boxes(v, b.payload + skip, b.end).find((x) => x.type === type) : undefined;
}

export interface TrackInfo {
  timescale: number;
  width: number;
  height: number;
  /** The avcC box's payload: the decoder's `description`. */
  description: Uint8Array;
  defaultDuration: number;
  defaultSize: number;
  defaultFlags: number;
}

export function parseInit(buf: ArrayBuffer): TrackInfo | null {
  const v = new DataView(buf);
  const moov = boxes(v, 0, buf.byteLength).find((b) => b.type === 'moov');
  const trak = child(v, moov, 'trak');
  const mdia = child(v, trak, 'mdia');
  const mdhd = child(v, mdia, 'mdhd');
  const stsd = child(v, child(v, child(v, mdia, 'minf'), 'stbl'), 'stsd');
  if (!mdhd || !stsd) return null;
  const timescale = v.getUint8(mdhd.payload) === 1 ? v.getUint32(mdhd.payload + 20) : v.getUint32(mdhd.payload + 12);
  // stsd: version/flags, entry count, then the sample entry (avc1/avc3): 78 bytes before its boxes.
  const entry = boxes(v, stsd.payload + 8, stsd.end)[0];
  if (!entry) return null;
  const width = v.getUint16(entry.payload + 24);
  const height = v.getUint16(entry.payload + 26);
  const avcC = boxes(v, entry.payload + 78, entry.end).find((b) => b.type === 'avcC');
  if (!avcC) return null;
  const trex = child(v, child(v, moov, 'mvex'), 'trex');
  return {
    timescale,
    width,
    height,
    description: new Uint8Array(buf.slice(avcC.payload, avcC.end)),
    defaultDuration: trex ? v.getUint32(trex.payload + 12) : 0,
    defaultSize: trex ? v.getUint32(trex.payload + 16) : 0,
    defaultFlags: trex ? v.getUint32(trex.payload + 20) : 0,
  };
}

export interface Sample {
  /** In the track's timescale. */
  time: number;
  duration: number;
  key: boolean;
  data: Uint8Array;
}

/** `sample_is_non_sync_sample`. */
const NON_SYNC = 0x0001_0000;

export function parseFragment(buf: ArrayBuffer, track: TrackInfo): Sample[] {
  const v = new DataView(buf);
  const out: Sample[] = [];
  for (const moof of boxes(v, 0, buf.byteLength).filter((b) => b.type === 'moof')) {
    for (const traf of boxes(v, moof.payload, moof.end).filter((b) => b.type === 'traf')) {
      const tfhd = child(v, traf, 'tfhd');
      if (!tfhd) continue;
      const tf = v.getUint32(tfhd.payload) & 0xffffff;
      let p = tfhd.payload + 8;
      let base = moof.start;
      if (tf & 0x01) {
        base = Number(v.getBigUint64(p));
        p += 8;
      }
      if (tf & 0x02) p += 4;
      let dur = track.defaultDuration;
      let size = track.defaultSize;
      let flags = track.defaultFlags;
      if (tf & 0x08) (dur = v.getUint32(p)), (p += 4);
      if (tf & 0x10) (size = v.getUint32(p)), (p += 4);
      if (tf & 0x20) flags = v.getUint32(p);
      const tfdt = child(v, traf, 'tfdt');
      let time = 0;
      if (tfdt) time = v.getUint8(tfdt.payload) === 1 ? Number(v.getBigUint64(tfdt.payload + 4)) : v.getUint32(tfdt.payload + 4);
      let offset = base;
      for (const trun of boxes(v, traf.payload, traf.end).filter((b) => b.type === 'trun')) {
        const rf = v.getUint32(trun.payload) & 0xffffff;
        const count = v.getUint32(trun.payload + 4);
        let q = trun.payload + 8;
        if (rf & 0x01) (offset = base + v.getInt32(q)), (q += 4);
        let first: number | null = null;
        if (rf & 0x04) (first = v.getUint32(q)), (q += 4);
        for (let i = 0; i < count; i++) {
          let d = dur;
          let s = size;
          let f = i === 0 && first !== null ? first : flags;
          let cto = 0;
          if (rf & 0x100) (d = v.getUint32(q)), (q += 4);
          if (rf & 0x200) (s = v.getUint32(q)), (q += 4);
          if (rf & 0x400) (f = v.getUint32(q)), (q += 4);
          if (rf & 0x800) (cto = v.getInt32(q)), (q += 4);
          if (offset + s > buf.byteLength) return out;
          out.push({ time: time + cto, duration: d, key: (f & NON_SYNC) === 0, data: new Uint8Array(buf, offset, s) });
          offset += s;
          time += d;
        }
      }
    }
  }
  return out;
}
