// Time-series charts over uPlot (vendored, see ../vendor/ and `make
// console-vendor`): one small wrapper so the overview only says what to
// plot. Colours come from the style sheet's --chart-* variables, so light
// and dark follow prefers-color-scheme; a change of scheme rebuilds them.

import uPlot from '../vendor/uPlot.esm.js';
import { clock } from './dom.js';

const palette = () => {
  const css = getComputedStyle(document.documentElement);
  return {
    series: [1, 2, 3, 4, 5].map((i) => css.getPropertyValue(`--chart-${i}`).trim() || '#2f5fd0'),
    axis: css.getPropertyValue('--muted').trim(),
    grid: css.getPropertyValue('--border').trim(),
  };
};

/**
 * Chart is one plot in el: fixed series names give the lines; data is
 * [times in seconds, values per series…].
 */
export class Chart {
  constructor(el, { unit = '', decimals = 0 } = {}) {
    this.el = el;
    this.unit = unit;
    this.decimals = decimals;
    this.names = [];
    this.plot = null;
    this.data = [[]];
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el);
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.build());
  }

  size() {
    return { width: Math.max(this.el.clientWidth, 200), height: 160 };
  }

  /** set draws data with one series per name (the chart is rebuilt when the names change). */
  set(names, data) {
    this.data = data;
    const values = data.slice(1).flat().filter((v) => v != null);
    this.el.dataset.samples = String(data[0].length);
    this.el.dataset.max = String(values.length ? Math.max(...values) : 0);
    this.el.dataset.sum = String(values.reduce((a, b) => a + b, 0));
    this.el.dataset.last = String(data.slice(1).map((s) => s[s.length - 1] ?? 0).reduce((a, b) => a + b, 0));
    if (names.join('\n') !== this.names.join('\n') || !this.plot) {
      this.names = names;
      this.build();
      return;
    }
    this.plot.setData(data);
  }

  build() {
    this.plot?.destroy();
    const c = palette();
    const fmt = (v) => (v == null ? '—' : `${v.toFixed(this.decimals)}${this.unit}`);
    const axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid, width: 1 } };
    this.plot = new uPlot({
      ...this.size(),
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(max, this.decimals ? 1 : 5) * 1.1] } },
      series: [
        { value: (u, v) => (v == null ? '—' : clock(new Date(v * 1000))) },
        ...this.names.map((name, i) => ({
          label: name, stroke: c.series[i % c.series.length], width: 1.5, spanGaps: false, value: (u, v) => fmt(v),
          points: { show: false },
        })),
      ],
      axes: [
        // The console's one time format (dom.js), not uPlot's own dates.
        { ...axis, values: (u, vals) => vals.map((v) => clock(new Date(v * 1000)).slice(0, vals.length > 1 && vals[1] - vals[0] >= 60 ? 5 : 8)) },
        { ...axis, size: 56, values: (u, vals) => vals.map((v) => `${+v.toFixed(this.decimals)}`) },
      ],
    }, this.data, this.el);
  }
}
