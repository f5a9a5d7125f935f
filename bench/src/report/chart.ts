/** The chart of docs/PERFORMANCE.md: send → last recipient latency against room size, log-log, as SVG. */

export interface ChartLine {
  label: string;
  color: string;
  dashed?: boolean;
  /** [recipients, milliseconds] */
  points: [number, number][];
}

const W = 760;
const H = 440;
const M = { left: 84, right: 230, top: 40, bottom: 52 };

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e += 1) out.push(10 ** e);
  return out;
}

export function latencyChart(title: string, lines: ChartLine[]): string {
  const all = lines.flatMap((l) => l.points).filter(([x, y]) => x > 0 && y > 0);
  const xs = decades(Math.min(...all.map(([x]) => x)), Math.max(...all.map(([x]) => x)));
  const ys = decades(Math.min(...all.map(([, y]) => y)), Math.max(...all.map(([, y]) => y)));
  const [x0, x1] = [Math.log10(xs[0] as number), Math.log10(xs[xs.length - 1] as number)];
  const [y0, y1] = [Math.log10(ys[0] as number), Math.log10(ys[ys.length - 1] as number)];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number): number => M.left + ((Math.log10(x) - x0) / (x1 - x0 || 1)) * plotW;
  const py = (y: number): number => M.top + plotH - ((Math.log10(y) - y0) / (y1 - y0 || 1)) * plotH;
  const f = (n: number): string => n.toFixed(1);
  const label = (v: number, unit: string): string => (v >= 1000 ? `${v / 1000}k${unit}` : `${v}${unit}`);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="600">${escape(title)}</text>`,
  ];
  for (const x of xs) {
    out.push(`<line x1="${f(px(x))}" y1="${M.top}" x2="${f(px(x))}" y2="${M.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${f(px(x))}" y="${M.top + plotH + 18}" text-anchor="middle">${label(x, '')}</text>`);
  }
  for (const y of ys) {
    out.push(`<line x1="${M.left}" y1="${f(py(y))}" x2="${M.left + plotW}" y2="${f(py(y))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(py(y) + 4)}" text-anchor="end">${label(y, ' ms')}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">recipients in the room (log scale)</text>`);
  out.push(
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">send → last recipient (log scale)</text>`,
  );

  lines.forEach((line, i) => {
    const pts = line.points.filter(([x, y]) => x > 0 && y > 0).sort((a, b) => a[0] - b[0]);
    const dash = line.dashed ? ' stroke-dasharray="5 4"' : '';
    if (pts.length > 1) {
      const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${f(px(x))} ${f(py(y))}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="2"${dash}/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${f(px(x))}" cy="${f(py(y))}" r="3.5" fill="${line.color}"/>`);
    const ly = M.top + 8 + i * 20;
    const lx = W - M.right + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${line.color}" stroke-width="2"${dash}/>`);
    out.push(`<circle cx="${lx + 11}" cy="${ly}" r="3" fill="${line.color}"/>`);
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${escape(line.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
