/* Curves: one small chart per entry of header.curves.series (loss, score, gradient norms), drawn on canvases
   at devicePixelRatio, with nice ticks, a light grid, a legend, NaN as gaps and a shared hover crosshair. */

const curves_H = 150;            // chart height (CSS px)
const curves_MIN_W = 250;        // narrowest chart before the row wraps
const curves_MAX_W = 420;
const curves_GAP = 16;
const curves_PAD = {l: 46, r: 10, t: 8, b: 22};
const curves_TEXT = "#31333f", curves_MUTED = "#808495", curves_GRID = "#e6e6ea", curves_AXIS = "#c9cad1";
const curves_FONT = '11px "Source Sans Pro", sans-serif';

/* A 1-2-5 step near span / n. */
function curves_step(span, n) {
  const raw = span / Math.max(n, 1);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* Linear ticks on [lo, hi] with a 1-2-5 step (about n of them). */
function curves_linTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const s = curves_step(hi - lo, n), out = [];
  for (let v = Math.ceil(lo / s - 1e-9) * s; v <= hi + s * 1e-9; v += s) out.push(Math.abs(v) < s * 1e-9 ? 0 : v);
  return out;
}

/* Integer ticks (epochs) on [lo, hi]. */
function curves_intTicks(lo, hi, n) {
  const s = Math.max(1, Math.round(curves_step(Math.max(hi - lo, 1), n)));
  const out = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-9; v += s) out.push(v);
  return out;
}

/* Log ticks on [lo, hi] (lo > 0): decades, or 1-2-5 / 1..9 per decade when the range is short. */
function curves_logTicks(lo, hi) {
  for (const ms of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const out = [];
    for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
      for (const m of ms) {
        const v = m * Math.pow(10, k);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
      }
    }
    if (out.length >= 2) {
      if (out.length > 7 && ms.length > 1) continue;   // too dense: a coarser set was already too sparse
      return out;
    }
  }
  return curves_linTicks(lo, hi, 3).filter(v => v > 0);
}

function curves_isPercent(series) { return /accuracy/i.test(series.title || ""); }

function curves_tickLabel(v, series, log) {
  if (curves_isPercent(series)) return String(Math.round(v * 1000) / 10) + "%";
  if (log) {
    const k = Math.log10(v);
    if (Math.abs(k - Math.round(k)) < 1e-9 && (k <= -3 || k >= 4)) return "1e" + Math.round(k);
  }
  return LV.fmt(v, 3).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
}

function curves_valueText(v, series) {
  if (!Number.isFinite(v)) return "–";
  return curves_isPercent(series) ? LV.fmt(v * 100, 3) + "%" : LV.fmt(v, 3);
}

function curves_epochText(x) { return Math.abs(x - Math.round(x)) < 1e-6 ? String(Math.round(x)) : LV.fmt(x, 3); }

/* The y range [lo, hi] of values (already in display space: log10 for log charts), padded. */
function curves_range(lines, log, percent, clipLow) {
  let lo = Infinity, hi = -Infinity;
  for (const ys of lines) {
    for (let i = 0; i < ys.length; i++) {
      const v = ys[i];
      if (Number.isFinite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; }
    }
  }
  if (!(hi >= lo)) return log ? [-1, 0] : [0, 1];
  if (clipLow !== undefined && lo < clipLow && hi > clipLow) lo = clipLow;
  if (hi - lo < 1e-12) { const d = log ? 0.5 : (Math.abs(lo) * 0.1 || 0.5); lo -= d; hi += d; }
  const pad = (hi - lo) * 0.06;
  lo -= pad; hi += pad;
  if (percent) { lo = Math.max(lo, Math.min(0, lo + pad)); hi = Math.min(hi, Math.max(1, hi - pad)); }
  return [lo, hi];
}

/* Values of (px, py) resampled at the x positions xs (linear in between; NaN outside or across a gap). */
function curves_resample(px, py, xs) {
  const out = new Float32Array(xs.length).fill(NaN);
  if (!px || px.length === 0) return out;
  let j = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (x < px[0] || x > px[px.length - 1]) continue;
    while (j < px.length - 2 && px[j + 1] < x) j++;
    if (px[j] === x || j + 1 >= px.length) { out[i] = py[j]; continue; }
    const f = (x - px[j]) / (px[j + 1] - px[j] || 1);
    out[i] = f <= 0 ? py[j] : f >= 1 ? py[j + 1] : py[j] + (py[j + 1] - py[j]) * f;
  }
  return out;
}

function curves_toDisplay(ys, log) {
  const out = new Float32Array(ys.length);
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    out[i] = log ? (v > 0 && Number.isFinite(v) ? Math.log10(v) : NaN) : (Number.isFinite(v) ? v : NaN);
  }
  return out;
}

/* Index of the x nearest to v in the sorted array xs. */
function curves_nearest(xs, v) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (hi - lo > 1) { const m = (lo + hi) >> 1; if (xs[m] < v) lo = m; else hi = m; }
  return Math.abs(xs[lo] - v) <= Math.abs(xs[hi] - v) ? lo : hi;
}

function curves_chart(row, series) {
  const box = LV.el("div", {class: "lv-chart"}, row);
  const head = LV.el("div", {class: "lv-chart-head"}, box);
  const title = LV.el("span", {class: "lv-chart-title", text: series.title || series.name}, head);
  const legend = LV.el("span", {class: "lv-legend"}, head);
  const c = LV.canvas(box, 300, curves_H, "curve-" + series.name);
  c.el.classList.add("lv-chart-canvas");
  return {name: series.name, box, title, legend, c, legendKey: "", series,
          view: null /* {x0, x1, y0, y1} of the last drawing */};
}

function curves_legend(ch, series) {
  const key = JSON.stringify(series.lines.map(l => [l.label, l.colour]));
  if (key === ch.legendKey) return;
  ch.legendKey = key;
  ch.legend.textContent = "";
  for (const line of series.lines) {
    const item = LV.el("span", {class: "lv-legend-item"}, ch.legend);
    const sw = LV.el("span", {class: "lv-legend-swatch"}, item);
    sw.style.background = line.colour;
    LV.el("span", {text: line.label}, item);
  }
}

PANELS.curves = {
  create(host, ctx) {
    const st = {ctx, host, charts: [], t: 1, width: 0, frame: null, prepared: null};
    host.classList.add("lv-curves");
    const row = LV.el("div", {class: "lv-curves-row"}, host);
    const empty = LV.el("div", {class: "lv-curves-empty lv-muted", text: "curves appear after the first epoch"}, host);
    const readout = LV.el("div", {class: "lv-readout", testid: "crosshair"}, host);
    st.row = row; st.empty = empty; st.readout = readout;

    function layout() {
      const W = Math.max(200, ctx.widthOf(host) || ctx.width());
      if (W === st.width) return;
      st.width = W;
      const n = Math.max(st.charts.length, 1);
      let cols = n;
      while (cols > 1 && (W - (cols - 1) * curves_GAP) / cols < curves_MIN_W) cols--;
      const w = Math.floor(Math.min(curves_MAX_W, (W - (cols - 1) * curves_GAP) / cols));
      for (const ch of st.charts) { ch.c.resize(w, curves_H); ch.box.style.width = w + "px"; }
    }

    function build(h) {
      const names = h.curves.series.map(s => s.name).join("|");
      if (names === st.names) return;
      st.names = names;
      row.textContent = "";
      st.charts = h.curves.series.map(s => curves_chart(row, s));
      st.width = 0;
      for (const ch of st.charts) {
        ch.c.el.addEventListener("mousemove", ev => hover(ch, ev));
        ch.c.el.addEventListener("mouseleave", () => { ctx.shared.curves_hover = null; draw(); });
      }
    }

    function hover(ch, ev) {
      const p = st.prepared;
      if (!p || !ch.view || p.x.length === 0) return;
      const r = ch.c.el.getBoundingClientRect();
      const px = ev.clientX - r.left, {x0, x1} = ch.view;
      const left = curves_PAD.l, right = ch.c.w - curves_PAD.r;
      const xv = x0 + (Math.min(Math.max(px, left), right) - left) / (right - left) * (x1 - x0);
      const i = curves_nearest(p.x, xv);
      ctx.shared.curves_hover = {i, x: p.x[i], chart: ch.name};
      draw();
    }

    /* Per update: display-space values of the new frame and of the previous one resampled at the new x. */
    function prepare(frame, prev) {
      const h = frame.h, x = frame.a.curve_x || new Float32Array(0);
      const px = prev && prev.a.curve_x;
      const series = h.curves.series.map(s => {
        const log = !!s.log, percent = curves_isPercent(s);
        const clip = !log && !percent && s.name === "score" ? -1 : undefined;  // R² far below 0 would squash the rest
        const lines = s.lines.map(l => {
          const raw = frame.a[l.array] || new Float32Array(x.length).fill(NaN);
          const cur = curves_toDisplay(raw, log);
          let old = null;
          const ps = prev && prev.h.curves && prev.h.curves.series.find(q => q.name === s.name);
          const pl = ps && ps.lines.find(q => q.array === l.array);
          if (pl && px && prev.a[l.array] && !!ps.log === log) old = curves_resample(px, curves_toDisplay(prev.a[l.array], log), x);
          return {line: l, raw, cur, old};
        });
        const range = curves_range(lines.map(l => l.cur), log, percent, clip);
        let oldRange = null;
        if (prev && lines.some(l => l.old)) {
          const ps = prev.h.curves.series.find(q => q.name === s.name);
          if (ps) oldRange = curves_range(ps.lines.map(l => curves_toDisplay(prev.a[l.array] || [], log)), log, percent, clip);
        }
        return {s, log, percent, clip, lines, range, oldRange};
      });
      const xr = x.length ? [x[0], x[x.length - 1]] : [0, 1];
      if (xr[1] - xr[0] < 1) { xr[0] -= 0.5; xr[1] += 0.5; }
      let oldXr = null;
      if (px && px.length) { oldXr = [px[0], px[px.length - 1]]; if (oldXr[1] - oldXr[0] < 1) { oldXr[0] -= 0.5; oldXr[1] += 0.5; } }
      return {x, xr, oldXr, series};
    }

    function drawChart(ch, ps, p, t) {
      const {c} = ch, g = c.g, W = c.w, H = c.h;
      const e = t >= 1 ? 1 : LV.ease(Math.max(0, t));
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      g.clearRect(0, 0, W, H);
      const L = curves_PAD.l, R = W - curves_PAD.r, T = curves_PAD.t, B = H - curves_PAD.b;
      const blank = p.x.length === 0;
      const lerp2 = (a, b) => (a && e < 1 ? [LV.lerp(a[0], b[0], e), LV.lerp(a[1], b[1], e)] : b);
      const [x0, x1] = lerp2(p.oldXr, p.xr);
      const [y0, y1] = lerp2(ps.oldRange, ps.range);
      ch.view = {x0, x1, y0, y1};
      const X = v => L + (v - x0) / (x1 - x0 || 1) * (R - L);
      const Y = v => B - (v - y0) / (y1 - y0 || 1) * (B - T);
      g.font = curves_FONT;
      g.lineWidth = 1;
      // grid and y labels
      const yt = blank ? [] : ps.log ? curves_logTicks(Math.pow(10, y0), Math.pow(10, y1)).map(v => [Math.log10(v), v])
        : curves_linTicks(y0, y1, 4).map(v => [v, v]);
      g.textAlign = "right"; g.textBaseline = "middle";
      for (const [d, v] of yt) {
        const y = Math.round(Y(d)) + 0.5;
        g.strokeStyle = curves_GRID; g.beginPath(); g.moveTo(L, y); g.lineTo(R, y); g.stroke();
        g.fillStyle = curves_MUTED; g.fillText(curves_tickLabel(v, ps.s, ps.log), L - 5, y);
      }
      const xt = blank ? [] : curves_intTicks(x0, x1, Math.max(2, Math.floor((R - L) / 60)));
      g.textAlign = "center"; g.textBaseline = "top";
      for (const v of xt) {
        const x = Math.round(X(v)) + 0.5;
        g.strokeStyle = curves_GRID; g.beginPath(); g.moveTo(x, T); g.lineTo(x, B); g.stroke();
        g.fillStyle = curves_MUTED; g.fillText(String(v), x, B + 5);
      }
      g.strokeStyle = curves_AXIS;
      g.beginPath(); g.moveTo(L + 0.5, T); g.lineTo(L + 0.5, B + 0.5); g.lineTo(R, B + 0.5); g.stroke();
      if (blank) return;
      // lines (clipped to the plot; NaN = gap; a lone point is a dot)
      g.save();
      g.beginPath(); g.rect(L, T - 2, R - L + 2, B - T + 4); g.clip();
      g.lineJoin = "round"; g.lineCap = "round";
      const values = ps.lines.map(l => {
        if (!l.old || e >= 1) return l.cur;
        const out = new Float32Array(l.cur.length);
        for (let i = 0; i < out.length; i++) {
          const a = l.old[i], b = l.cur[i];
          out[i] = Number.isFinite(a) && Number.isFinite(b) ? a + (b - a) * e : b;
        }
        return out;
      });
      ps.lines.forEach((l, k) => {
        const ys = values[k], xs = p.x;
        g.strokeStyle = l.line.colour; g.fillStyle = l.line.colour; g.lineWidth = 1.6;
        g.beginPath();
        let open = false;
        for (let i = 0; i < xs.length; i++) {
          const v = ys[i];
          if (!Number.isFinite(v)) { open = false; continue; }
          const x = X(xs[i]), y = Y(v);
          if (open) g.lineTo(x, y); else g.moveTo(x, y);
          open = true;
        }
        g.stroke();
        for (let i = 0; i < xs.length; i++) {
          const lone = Number.isFinite(ys[i]) && !Number.isFinite(ys[i - 1]) && !Number.isFinite(ys[i + 1]);
          if (lone) { g.beginPath(); g.arc(X(xs[i]), Y(ys[i]), 2, 0, 2 * Math.PI); g.fill(); }
        }
      });
      g.restore();
      // crosshair
      const hv = ctx.shared.curves_hover;
      if (hv && hv.i >= 0 && hv.i < p.x.length) {
        const x = Math.round(X(p.x[hv.i])) + 0.5;
        g.strokeStyle = "rgba(49, 51, 63, 0.45)"; g.lineWidth = 1;
        g.setLineDash([3, 3]); g.beginPath(); g.moveTo(x, T); g.lineTo(x, B); g.stroke(); g.setLineDash([]);
        ps.lines.forEach((l, k) => {
          const v = values[k][hv.i];
          if (!Number.isFinite(v) || v < y0 || v > y1) return;
          g.beginPath(); g.arc(x, Y(v), 3.5, 0, 2 * Math.PI);
          g.fillStyle = l.line.colour; g.fill();
          g.lineWidth = 1.5; g.strokeStyle = "#ffffff"; g.stroke();
        });
      }
    }

    function readoutText() {
      const hv = ctx.shared.curves_hover, p = st.prepared;
      if (!hv || !p || hv.i < 0 || hv.i >= p.x.length) return "";
      const ps = p.series.find(s => s.s.name === hv.chart) || p.series[0];
      if (!ps) return "";
      const parts = [(st.frame.h.curves.x || "epoch") + " " + curves_epochText(p.x[hv.i])];
      for (const l of ps.lines) parts.push(l.line.label + " " + curves_valueText(l.raw[hv.i], ps.s));
      return parts.join(" · ");
    }

    function draw() {
      const p = st.prepared;
      if (!p) return;
      layout();
      st.charts.forEach((ch, k) => { if (p.series[k]) drawChart(ch, p.series[k], p, st.t); });
      const text = readoutText();
      LV.text(st.readout, text);
    }

    return {
      minInterval: 250,  // ms: a chart over epochs needs no more than ~4 drawings a second
      update(frame, prev) {
        const h = frame.h;
        if (!h.curves || !h.curves.series) return;
        build(h);
        st.charts.forEach((ch, k) => curves_legend(ch, h.curves.series[k]));
        st.frame = frame;
        st.prepared = prepare(frame, prev && prev.h.curves ? prev : null);
        const blank = st.prepared.x.length === 0;
        LV.css(st.empty, "display", blank ? "" : "none");
        LV.toggle(host, "lv-curves-blank", blank);
        const hv = ctx.shared.curves_hover;
        if (hv) {   // keep the crosshair on the same epoch
          const i = curves_nearest(st.prepared.x, hv.x);
          ctx.shared.curves_hover = i < 0 ? null : {i, x: st.prepared.x[i], chart: hv.chart};
        }
        st.t = 0;
      },
      render(t) {
        st.t = t;
        draw();
      },
    };
  },
};
