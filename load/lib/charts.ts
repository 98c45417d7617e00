/**
 * Line charts as SVG, rendered to PNG by resvg (no browser): time on the x axis in seconds from the
 * start of the run, phases as shaded bands, faults as labelled vertical lines.
 */
import { Resvg } from '@resvg/resvg-js';

export interface Series {
  name: string;
  color: string;
  /** [x seconds, y] ; null breaks the line. */
  points: Array<[number, number | null]>;
  dash?: boolean;
}

export interface Marker {
  x: number;
  label: string;
}

export interface Band {
  from: number;
  to: number;
  label: string;
}

export interface ChartSpec {
  title: string;
  yLabel: string;
  series: Series[];
  markers?: Marker[];
  bands?: Band[];
  logY?: boolean;
  width?: number;
  height?: number;
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number) =>
  Math.abs(v) >= 1000
    ? `${+(v / 1000).toFixed(1)}k`
    : Math.abs(v) < 1 && v !== 0
      ? `${+v.toFixed(2)}`
      : `${+v.toFixed(1)}`;

/** Round steps of 1, 2 or 5 times a power of ten, about `count` of them over [0, max]. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) ticks.push(+v.toPrecision(12));
  if (ticks.at(-1)! < max) ticks.push(+(ticks.at(-1)! + step).toPrecision(12));
  return ticks;
}

export function svgChart(spec: ChartSpec): string {
  const W = spec.width ?? 960;
  const H = spec.height ?? 380;
  const m = { l: 70, r: 20, t: 52, b: 62 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xs = spec.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = spec.series.flatMap((s) =>
    s.points.map((p) => p[1]).filter((v): v is number => v !== null && v > -Infinity),
  );
  const xMax = Math.max(
    1,
    ...xs,
    ...(spec.markers ?? []).map((mk) => mk.x),
    ...(spec.bands ?? []).map((b) => b.to),
  );
  const xTicks = niceTicks(xMax, 10);
  const xTop = xTicks.at(-1)!;
  const X = (x: number) => m.l + (x / xTop) * pw;

  let Y: (y: number) => number;
  let yTicks: number[];
  if (spec.logY) {
    const lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.1, Math.min(...ys.filter((v) => v > 0), 1)))));
    const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(lo * 10, ...ys))));
    yTicks = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) yTicks.push(+v.toPrecision(6));
    const span = Math.log10(hi) - Math.log10(lo);
    Y = (y: number) => m.t + ph - ((Math.log10(Math.max(lo, y)) - Math.log10(lo)) / span) * ph;
  } else {
    yTicks = niceTicks(Math.max(...ys, 0) * 1.05 || 1, 5);
    const top = yTicks.at(-1)!;
    Y = (y: number) => m.t + ph - (y / top) * ph;
  }

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(
    `<text x="${m.l}" y="22" font-family="${FONT}" font-size="16" font-weight="bold" fill="#222">${esc(spec.title)}</text>`,
  );
  (spec.bands ?? []).forEach((b, i) => {
    const x1 = X(b.from);
    const x2 = X(Math.min(b.to, xTop));
    out.push(
      `<rect x="${x1}" y="${m.t}" width="${Math.max(0, x2 - x1)}" height="${ph}" fill="${i % 2 ? '#f3f6fa' : '#fafbfc'}"/>`,
    );
    out.push(
      `<text x="${(x1 + x2) / 2}" y="${m.t + ph + 44}" text-anchor="middle" font-family="${FONT}" font-size="11" fill="#667">${esc(b.label)}</text>`,
    );
  });
  for (const v of yTicks) {
    const y = Y(v);
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(
      `<text x="${m.l - 6}" y="${y + 4}" text-anchor="end" font-family="${FONT}" font-size="11" fill="#444">${fmt(v)}</text>`,
    );
  }
  for (const v of xTicks) {
    const x = X(v);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.t + ph}" y2="${m.t + ph + 4}" stroke="#888"/>`);
    out.push(
      `<text x="${x}" y="${m.t + ph + 17}" text-anchor="middle" font-family="${FONT}" font-size="11" fill="#444">${fmt(v)}</text>`,
    );
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  out.push(
    `<text x="${m.l + pw / 2}" y="${H - 4}" text-anchor="middle" font-family="${FONT}" font-size="12" fill="#444">seconds since the first phase started</text>`,
  );
  out.push(
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-family="${FONT}" font-size="12" fill="#444">${esc(spec.yLabel)}</text>`,
  );
  for (const s of spec.series) {
    let d = '';
    let pen = false;
    for (const [x, y] of s.points) {
      if (y === null || (spec.logY && y <= 0)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${X(x).toFixed(1)},${Y(y).toFixed(1)}`;
      pen = true;
    }
    if (d) {
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dash ? ' stroke-dasharray="5,3"' : ''} stroke-linejoin="round"/>`,
      );
    }
  }
  (spec.markers ?? []).forEach((mk, i) => {
    const x = X(mk.x);
    out.push(
      `<line x1="${x}" x2="${x}" y1="${m.t}" y2="${m.t + ph}" stroke="#c0392b" stroke-width="1.4" stroke-dasharray="4,3"/>`,
    );
    out.push(
      `<text x="${x + 3}" y="${m.t + 12 + (i % 4) * 13}" font-family="${FONT}" font-size="11" fill="#c0392b">${esc(mk.label)}</text>`,
    );
  });
  // Legend, top right.
  let lx = W - m.r;
  for (const s of [...spec.series].reverse()) {
    const w = 26 + s.name.length * 6.6;
    lx -= w;
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="38" y2="38" stroke="${s.color}" stroke-width="2.5"${s.dash ? ' stroke-dasharray="5,3"' : ''}/>`,
    );
    out.push(
      `<text x="${lx + 22}" y="42" font-family="${FONT}" font-size="11" fill="#333">${esc(s.name)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}

export function toPng(svg: string): Buffer {
  const r = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}
