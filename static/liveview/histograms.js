/* Histograms per layer over time (gradients or weights), on fixed symmetric log-spaced bins: a heatmap
   (x = value bins, y = recorded step), TensorBoard's offset (ridge) view, or its distributions (percentile
   bands over the steps). The x (or value) axis is the bins' own: equal width per bin, so each decade of
   magnitude gets the same room. Drawings are cached and redrawn only when the data or a control changes. */

const hist_RECENT = 16;                                   // records shown by the "recent window"
const hist_RIDGES = 24;                                   // most curves in the offset view
const hist_QS = [0, 0.07, 0.16, 0.31, 0.5, 0.69, 0.84, 0.93, 1];
const hist_H = 170;
const hist_MIN_W = 230, hist_MAX_W = 380, hist_GAP = 16;
const hist_PAD = {l: 46, r: 10, t: 8, b: 22};
const hist_TEXT = "#31333f", hist_MUTED = "#808495", hist_GRID = "#e6e6ea", hist_AXIS = "#c9cad1";
const hist_FONT = '11px "Source Sans Pro", sans-serif';
const hist_RAMPS = {   // light to dark, sequential
  gradients: ["#fff5eb", "#fdd0a2", "#fdae6b", "#f16913", "#a63603", "#5a1e02"],
  weights: ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08519c", "#08244a"],
};

/* Percentiles of a histogram by inverting its piecewise-linear CDF: counts (B,) >= 0, edges (B+1,)
   increasing, qs in [0, 1]. A quantile q falls in the first non-empty bin b whose cumulative count reaches
   q · total; its value is edges[b] + f · (edges[b+1] − edges[b]) with f = (q · total − count before b) /
   counts[b] (so q = 0 is the left edge of the first non-empty bin, q = 1 the right edge of the last).
   Returns {values, pos} (pos = b + f, the position on the bin axis); NaN everywhere when the total is 0. */
function hist_percentiles(counts, edges, qs) {
  const n = qs.length, values = new Float64Array(n).fill(NaN), pos = new Float64Array(n).fill(NaN);
  let total = 0;
  for (let b = 0; b < counts.length; b++) if (counts[b] > 0) total += counts[b];
  if (!(total > 0)) return {values, pos};
  for (let k = 0; k < n; k++) {
    const target = Math.min(Math.max(qs[k], 0), 1) * total;
    let cum = 0, last = -1;
    for (let b = 0; b < counts.length; b++) {
      const c = counts[b];
      if (!(c > 0)) continue;
      last = b;
      if (cum + c >= target) {
        const f = Math.min(Math.max((target - cum) / c, 0), 1);
        values[k] = edges[b] + f * (edges[b + 1] - edges[b]);
        pos[k] = b + f;
        break;
      }
      cum += c;
    }
    if (Number.isNaN(values[k]) && last >= 0) { values[k] = edges[last + 1]; pos[k] = last + 1; }
  }
  return {values, pos};
}

/* An edge value as short text: 0.01, -1, 2.15e-5, 1e-4. */
function hist_fmt(v) {
  if (v === 0 || !Number.isFinite(v)) return String(v === 0 ? 0 : v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return String(parseFloat(v.toPrecision(3)));
  return v.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
}

function hist_rgb(ramp, t) {
  const x = Math.min(Math.max(t, 0), 1) * (ramp.length - 1), i = Math.min(Math.floor(x), ramp.length - 2);
  return LV.mix(ramp[i], ramp[i + 1], x - i);
}

function hist_css(rgb, alpha) {
  return alpha === undefined ? `rgb(${rgb[0]},${rgb[1]},${rgb[2]})` : `rgba(${rgb[0]},${rgb[1]},${rgb[2]},${alpha})`;
}

/* Tick marks on the bin axis between positions lo and hi: the edge at zero magnitude (or the zero bin's
   centre) and decade edges, kept at least `space` px apart going outward from zero. */
function hist_binTicks(edges, lo, hi, pxPerBin, space) {
  const cand = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const v = edges[e];
    if (v === 0) { cand.push({pos: e, text: "0", zero: true}); continue; }
    const k = Math.log10(Math.abs(v));
    if (Math.abs(k - Math.round(k)) < 1e-3) cand.push({pos: e, text: hist_fmt(Math.sign(v) * Math.pow(10, Math.round(k)))});
  }
  for (let b = Math.max(0, Math.floor(lo)); b < Math.min(edges.length - 1, Math.ceil(hi)); b++) {
    if (edges[b] < 0 && edges[b + 1] > 0) cand.push({pos: b + 0.5, text: "0", zero: true});
  }
  cand.sort((a, b) => a.pos - b.pos);
  if (!cand.length) return [];
  let start = cand.findIndex(c => c.zero);
  if (start < 0) start = cand.length >> 1;
  const out = [cand[start]];
  for (const dir of [1, -1]) {
    let lastPos = cand[start].pos;
    for (let i = start + dir; i >= 0 && i < cand.length; i += dir) {
      if (Math.abs(cand[i].pos - lastPos) * pxPerBin >= space) { out.push(cand[i]); lastPos = cand[i].pos; }
    }
  }
  return out.sort((a, b) => a.pos - b.pos);
}

/* Row indices (about n) to label on a step axis: first, last and evenly between. */
function hist_rowTicks(n, want) {
  if (n <= 0) return [];
  if (n === 1) return [0];
  const k = Math.max(2, Math.min(want, n)), out = new Set();
  for (let i = 0; i < k; i++) out.add(Math.round(i * (n - 1) / (k - 1)));
  return [...out];
}

/* Linear ticks on [lo, hi] with a 1-2-5 step, about n of them (rounded to the step). */
function hist_linTicks(lo, hi, n) {
  const raw = (hi - lo) / Math.max(n, 1), mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
  const s = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag, out = [];
  for (let k = Math.ceil(lo / s - 1e-9); k * s <= hi + s * 1e-9; k++) out.push(parseFloat((k * s).toPrecision(12)));
  return out;
}

/* Integer ticks (steps) on [lo, hi] with a 1-2-5 step, about n of them. */
function hist_stepTicks(lo, hi, n) {
  const raw = Math.max(hi - lo, 1) / Math.max(n, 1), mag = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / mag;
  const s = Math.max(1, Math.round((f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag)), out = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-9; v += s) out.push(v);
  return out;
}

/* The numbers one layer's drawing needs, for the rows shown. */
function hist_layerData(frame, kind, layer, r0, r1) {
  const a = frame.a, s = frame.s, shares = a["hist_" + kind], [T, L, B] = s["hist_" + kind];
  const totals = a["hist_" + kind + "_total"], rows = [];
  let pmax = 0, b0 = B, b1 = -1, any = false;
  for (let r = r0; r < r1; r++) {
    const off = (r * L + layer) * B, p = new Float32Array(B);
    let sum = 0;
    for (let b = 0; b < B; b++) sum += shares[off + b];
    if (sum > 0) {
      any = true;
      for (let b = 0; b < B; b++) {
        const v = shares[off + b] / sum;
        p[b] = v;
        if (v > 0) { if (v > pmax) pmax = v; if (b < b0) b0 = b; if (b > b1) b1 = b; }
      }
    }
    const pc = sum > 0 ? hist_percentiles(p, a.hist_edges, hist_QS) : null;
    rows.push({r, step: a.hist_steps[r], p, sum, total: totals ? totals[r * L + layer] : NaN, pc});
  }
  if (!any) { b0 = 0; b1 = B - 1; }
  // a margin of one bin, at least 6 bins shown
  b0 = Math.max(0, b0 - 1); b1 = Math.min(B - 1, b1 + 1);
  while (b1 - b0 + 1 < 6 && (b0 > 0 || b1 < B - 1)) { if (b0 > 0) b0--; if (b1 < B - 1) b1++; }
  return {rows, pmax, b0, b1, any, B, T, L};
}

PANELS.histograms = {
  create(host, ctx) {
    host.classList.add("lv-histograms");
    const st = {kind: "gradients", mode: "heatmap", recent: false, frame: null, key: "", width: 0, names: "",
                layers: [], data: [], dirty: true};
    const bar = LV.el("div", {class: "lv-hist-controls"}, host);
    const kindLabel = LV.el("label", {text: "values "}, bar);
    const kindSel = LV.el("select", {testid: "hist-kind", "aria-label": "histogram values"}, kindLabel);
    const modeLabel = LV.el("label", {text: "view "}, bar);
    const modeSel = LV.el("select", {testid: "hist-mode", "aria-label": "histogram view"}, modeLabel);
    for (const [v, text] of [["heatmap", "heatmap"], ["offset", "offset"], ["percentiles", "percentiles"]]) {
      LV.el("option", {value: v, text}, modeSel);
    }
    const recentLabel = LV.el("label", {title: `show only the last ${hist_RECENT} records`}, bar);
    const recentBox = LV.el("input", {type: "checkbox", testid: "hist-recent"}, recentLabel);
    LV.el("span", {text: `last ${hist_RECENT} records`}, recentLabel);
    const grid = LV.el("div", {class: "lv-hist-grid"}, host);
    const empty = LV.el("div", {class: "lv-hist-empty", text: "histograms appear after the first recorded step"}, host);
    const readout = LV.el("div", {class: "lv-readout", testid: "hist-readout"}, host);

    kindSel.addEventListener("change", () => { st.kind = kindSel.value; st.dirty = true; draw(); });
    modeSel.addEventListener("change", () => { st.mode = modeSel.value; st.dirty = true; draw(); });
    recentBox.addEventListener("change", () => { st.recent = recentBox.checked; st.dirty = true; draw(); });

    function build(h) {
      const kinds = (h.histograms.kinds || ["gradients", "weights"]).join("|");
      if (kinds !== st.kinds) {
        st.kinds = kinds;
        kindSel.textContent = "";
        for (const k of kinds.split("|")) LV.el("option", {value: k, text: k}, kindSel);
        if (!kinds.split("|").includes(st.kind)) st.kind = kinds.split("|")[0];
        kindSel.value = st.kind;
      }
      const names = JSON.stringify(h.histograms.layers);
      if (names === st.names) return;
      st.names = names;
      grid.textContent = "";
      st.layers = h.histograms.layers.map((name, i) => {
        const box = LV.el("div", {class: "lv-chart"}, grid);
        const head = LV.el("div", {class: "lv-chart-head"}, box);
        LV.el("span", {class: "lv-chart-title", text: name}, head);
        const c = LV.canvas(box, 260, hist_H, "histogram-" + i);
        c.el.classList.add("lv-chart-canvas");
        const base = document.createElement("canvas");
        const layer = {i, name, box, c, base, geo: null};
        c.el.addEventListener("mousemove", ev => hover(layer, ev));
        c.el.addEventListener("mouseleave", () => { ctx.shared.hist_hover = null; overlayAll(); });
        return layer;
      });
      st.width = 0;
      st.dirty = true;
    }

    function layout() {
      const W = Math.max(200, ctx.widthOf(host) || ctx.width());
      if (W === st.width) return false;
      st.width = W;
      const n = Math.max(st.layers.length, 1);
      let cols = n;
      while (cols > 1 && (W - (cols - 1) * hist_GAP) / cols < hist_MIN_W) cols--;
      const w = Math.floor(Math.min(hist_MAX_W, (W - (cols - 1) * hist_GAP) / cols));
      for (const l of st.layers) {
        l.c.resize(w, hist_H);
        l.box.style.width = w + "px";
        l.base.width = l.c.el.width; l.base.height = l.c.el.height;
      }
      return true;
    }

    function shownRows() {
      const f = st.frame, shape = f && f.s["hist_" + st.kind];
      const T = shape ? shape[0] : 0;
      return [st.recent ? Math.max(0, T - hist_RECENT) : 0, T];
    }

    function cacheKey() {
      const f = st.frame, shape = f && f.s["hist_" + st.kind];
      if (!shape) return "none";
      const T = shape[0], steps = f.a.hist_steps;
      return [st.kind, st.mode, st.recent, T, T ? steps[T - 1] : -1, shape[1], shape[2], st.width].join("|");
    }

    /* Base drawing of one layer into its offscreen canvas; records the geometry for hover and overlays. */
    function drawBase(layer, d) {
      const c = layer.c, W = c.w, H = c.h, g = layer.base.getContext("2d");
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      g.clearRect(0, 0, W, H);
      g.font = hist_FONT;
      const L = hist_PAD.l, R = W - hist_PAD.r, T = hist_PAD.t, B = H - hist_PAD.b;
      const ramp = hist_RAMPS[st.kind] || hist_RAMPS.weights, edges = st.frame.a.hist_edges;
      const geo = {L, R, T, B, mode: st.mode, d};
      layer.geo = geo;
      const n = d.rows.length;
      g.lineWidth = 1;
      if (!d.any) {
        g.strokeStyle = hist_AXIS; g.strokeRect(L + 0.5, T + 0.5, R - L - 1, B - T - 1);
        g.fillStyle = hist_MUTED; g.textAlign = "center"; g.textBaseline = "middle";
        g.fillText(n ? `no ${st.kind} recorded yet` : "no records yet", (L + R) / 2, (T + B) / 2);
        return;
      }
      if (st.mode === "percentiles") return drawPercentiles(g, geo, d, ramp, edges);
      const nb = d.b1 - d.b0 + 1, bw = (R - L) / nb;
      geo.X = pos => L + (pos - d.b0) * bw;
      geo.bw = bw;
      // x axis: bin edges
      g.textAlign = "center"; g.textBaseline = "top";
      for (const tk of hist_binTicks(edges, d.b0, d.b1 + 1, bw, 40)) {
        const x = Math.round(geo.X(tk.pos)) + 0.5;
        g.strokeStyle = hist_GRID; g.beginPath(); g.moveTo(x, T); g.lineTo(x, B); g.stroke();
        g.fillStyle = hist_MUTED; g.fillText(tk.text, x, B + 5);
      }
      if (st.mode === "heatmap") {
        const rh = (B - T) / n;
        geo.rowY = k => T + k * rh; geo.rh = rh;
        const img = new ImageData(nb, n), px = img.data;
        for (let k = 0; k < n; k++) {
          const p = d.rows[k].p;
          for (let b = 0; b < nb; b++) {
            const v = p[d.b0 + b], o = (k * nb + b) * 4;
            const rgb = v > 0 ? hist_rgb(ramp, 0.1 + 0.9 * Math.sqrt(v / d.pmax)) : [255, 255, 255];
            px[o] = rgb[0]; px[o + 1] = rgb[1]; px[o + 2] = rgb[2]; px[o + 3] = 255;
          }
        }
        const small = document.createElement("canvas");
        small.width = nb; small.height = n;
        small.getContext("2d").putImageData(img, 0, 0);
        g.imageSmoothingEnabled = false;
        g.drawImage(small, L, T, R - L, B - T);
        g.imageSmoothingEnabled = true;
      } else {   // offset: one filled curve per record (at most hist_RIDGES), oldest at the back (top)
        const idx = hist_ridgeRows(n, hist_RIDGES), m = idx.length;
        const ridge = (B - T) * (m > 1 ? 0.55 : 0.9), gap = m > 1 ? (B - T - ridge) / (m - 1) : 0;
        geo.ridges = idx; geo.ridge = ridge; geo.base = j => T + ridge + j * gap;
        for (let j = 0; j < m; j++) {
          const row = d.rows[idx[j]];
          if (!(row.sum > 0)) continue;
          hist_ridgePath(g, geo, d, row.p, geo.base(j));
          const age = m > 1 ? j / (m - 1) : 1;
          g.fillStyle = hist_css(hist_rgb(ramp, 0.15 + 0.55 * age));
          g.fill();
          g.strokeStyle = hist_css(hist_rgb(ramp, 0.5 + 0.45 * age));
          g.lineWidth = 0.9; g.lineJoin = "round"; g.stroke();
        }
      }
      // y axis: steps
      g.textAlign = "right"; g.textBaseline = "middle"; g.fillStyle = hist_MUTED;
      const want = Math.max(2, Math.floor((B - T) / 28));
      const ticked = st.mode === "heatmap" ? n : geo.ridges.length;
      for (const k of hist_rowTicks(ticked, want)) {
        const y = st.mode === "heatmap" ? geo.rowY(k) + geo.rh / 2 : geo.base(k);
        g.fillText(hist_fmt(d.rows[st.mode === "heatmap" ? k : geo.ridges[k]].step), L - 5, y);
      }
      g.strokeStyle = hist_AXIS;
      g.beginPath(); g.moveTo(L + 0.5, T); g.lineTo(L + 0.5, B + 0.5); g.lineTo(R, B + 0.5); g.stroke();
    }

    function drawPercentiles(g, geo, d, ramp, edges) {
      const {L, R, T, B} = geo, rows = d.rows, n = rows.length;
      let lo = Infinity, hi = -Infinity;
      for (const row of rows) if (row.pc) { lo = Math.min(lo, row.pc.values[0]); hi = Math.max(hi, row.pc.values[hist_QS.length - 1]); }
      if (!(hi > lo)) { const d0 = Math.abs(lo) * 0.1 || 1e-3; lo -= d0; hi += d0; }
      const padV = (hi - lo) * 0.05;
      lo -= padV; hi += padV;
      const s0 = rows[0].step, s1 = rows[n - 1].step, span = s1 - s0;
      const x0 = span > 0 ? s0 : s0 - 1, x1 = span > 0 ? s1 : s1 + 1;
      geo.X = s => L + (s - x0) / (x1 - x0) * (R - L);
      geo.Y = v => B - (v - lo) / (hi - lo) * (B - T);
      geo.lo = lo; geo.hi = hi;
      // grid: value ticks (y) and step ticks (x)
      g.textAlign = "right"; g.textBaseline = "middle";
      for (const v of hist_linTicks(lo, hi, Math.max(2, Math.floor((B - T) / 32)))) {
        const y = Math.round(geo.Y(v)) + 0.5;
        g.strokeStyle = hist_GRID; g.beginPath(); g.moveTo(L, y); g.lineTo(R, y); g.stroke();
        g.fillStyle = hist_MUTED; g.fillText(hist_fmt(v), L - 5, y);
      }
      g.textAlign = "center"; g.textBaseline = "top";
      for (const v of span > 0 ? hist_stepTicks(x0, x1, Math.max(2, Math.floor((R - L) / 60))) : [s0]) {
        const x = Math.round(geo.X(v)) + 0.5;
        g.strokeStyle = hist_GRID; g.beginPath(); g.moveTo(x, T); g.lineTo(x, B); g.stroke();
        g.fillStyle = hist_MUTED; g.fillText(String(v), x, B + 5);
      }
      const strong = hist_rgb(ramp, 0.78);
      const half = n === 1 ? Math.min(8, (R - L) / 4) : 0;
      const segs = [];
      let cur = [];
      for (const row of rows) { if (row.pc) cur.push(row); else if (cur.length) { segs.push(cur); cur = []; } }
      if (cur.length) segs.push(cur);
      const Q = hist_QS.length;
      for (const seg of segs) {
        const xs = seg.length === 1 ? [geo.X(seg[0].step) - (half || 2), geo.X(seg[0].step) + (half || 2)] : null;
        for (let k = 0; k < Q >> 1; k++) {   // bands: 0–100, 7–93, 16–84, 31–69
          g.beginPath();
          const pts = seg.length === 1 ? [[xs[0], seg[0]], [xs[1], seg[0]]] : seg.map(r => [geo.X(r.step), r]);
          pts.forEach(([x, r], i) => { const y = geo.Y(r.pc.values[k]); if (i) g.lineTo(x, y); else g.moveTo(x, y); });
          for (let i = pts.length - 1; i >= 0; i--) g.lineTo(pts[i][0], geo.Y(pts[i][1].pc.values[Q - 1 - k]));
          g.closePath();
          g.fillStyle = hist_css(strong, 0.13 + 0.07 * k);
          g.fill();
        }
        g.beginPath();
        const mid = Q >> 1;
        if (seg.length === 1) { const y = geo.Y(seg[0].pc.values[mid]); g.moveTo(xs[0], y); g.lineTo(xs[1], y); }
        else seg.forEach((r, i) => { const x = geo.X(r.step), y = geo.Y(r.pc.values[mid]); if (i) g.lineTo(x, y); else g.moveTo(x, y); });
        g.strokeStyle = hist_css(hist_rgb(ramp, 0.92)); g.lineWidth = 1.6; g.lineJoin = "round"; g.stroke();
      }
      g.strokeStyle = hist_AXIS; g.lineWidth = 1;
      g.beginPath(); g.moveTo(L + 0.5, T); g.lineTo(L + 0.5, B + 0.5); g.lineTo(R, B + 0.5); g.stroke();
    }

    /* The hover position as {row index in the shown rows, bin} on one layer's drawing. */
    function locate(layer, ev) {
      const geo = layer.geo;
      if (!geo || !geo.d.any) return null;
      const r = layer.c.el.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
      const d = geo.d, n = d.rows.length;
      if (geo.mode === "percentiles") {
        let best = 0, bd = Infinity;
        d.rows.forEach((row, k) => { const dd = Math.abs(geo.X(row.step) - x); if (dd < bd) { bd = dd; best = k; } });
        return {k: best, bin: -1};
      }
      const bin = Math.min(d.b1, Math.max(d.b0, d.b0 + Math.floor((x - geo.L) / geo.bw)));
      let k;
      if (geo.mode === "heatmap") k = Math.floor((y - geo.T) / geo.rh);
      else {
        const m = geo.ridges.length;
        const j = m > 1 ? Math.round((y - geo.base(0)) / ((geo.base(m - 1) - geo.base(0)) / (m - 1))) : 0;
        k = geo.ridges[Math.min(m - 1, Math.max(0, j))];
      }
      return {k: Math.min(n - 1, Math.max(0, k)), bin};
    }

    function hover(layer, ev) {
      const at = locate(layer, ev);
      if (!at) return;
      const row = layer.geo.d.rows[at.k];
      ctx.shared.hist_hover = {layer: layer.i, step: row.step, bin: at.bin};
      overlayAll();
    }

    function readoutText() {
      const hv = ctx.shared.hist_hover, layer = hv && st.layers[hv.layer];
      const geo = layer && layer.geo;
      if (!geo || !geo.d.any) return "";
      const row = geo.d.rows.find(r => r.step === hv.step);
      if (!row) return "";
      const head = "step " + hist_fmt(row.step);
      if (!(row.sum > 0)) return `${head} · no ${st.kind} recorded`;
      if (geo.mode === "percentiles") {
        const v = row.pc.values;
        return `${head} · median ${LV.fmt(v[4], 3)}, 16–84%: [${LV.fmt(v[2], 3)}, ${LV.fmt(v[6], 3)}] · ${layer.name}`;
      }
      const e = st.frame.a.hist_edges, b = hv.bin, share = row.p[b];
      const count = Number.isFinite(row.total) ? ` (${Math.round(share * row.total)} of ${Math.round(row.total)})` : "";
      const close = b === e.length - 2 ? "]" : ")";
      return `${head} · bin [${hist_fmt(e[b])}, ${hist_fmt(e[b + 1])}${close}: ${LV.fmt(share * 100, 3)}% of ${st.kind}` +
             `${count} · ${layer.name}`;
    }

    /* Each layer: its cached base plus the hover marks (the step on every layer, the bin on the hovered). */
    function overlayAll() {
      const hv = ctx.shared.hist_hover;
      for (const layer of st.layers) {
        const c = layer.c, g = c.g, geo = layer.geo;
        g.setTransform(1, 0, 0, 1, 0, 0);
        g.clearRect(0, 0, c.el.width, c.el.height);
        g.drawImage(layer.base, 0, 0);
        g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
        if (!hv || !geo || !geo.d.any) continue;
        const k = geo.d.rows.findIndex(r => r.step === hv.step);
        if (k < 0) continue;
        const row = geo.d.rows[k], mine = hv.layer === layer.i;
        g.lineWidth = 1;
        if (geo.mode === "percentiles") {
          const x = Math.round(geo.X(row.step)) + 0.5;
          g.strokeStyle = "rgba(49, 51, 63, 0.45)"; g.setLineDash([3, 3]);
          g.beginPath(); g.moveTo(x, geo.T); g.lineTo(x, geo.B); g.stroke(); g.setLineDash([]);
          if (row.pc) for (const q of [2, 4, 6]) {
            g.beginPath(); g.arc(x, geo.Y(row.pc.values[q]), q === 4 ? 3.5 : 2.5, 0, 2 * Math.PI);
            g.fillStyle = q === 4 ? hist_TEXT : "#ffffff"; g.fill();
            g.strokeStyle = q === 4 ? "#ffffff" : hist_TEXT; g.lineWidth = 1.2; g.stroke();
          }
        } else if (geo.mode === "heatmap") {
          const y = geo.rowY(k);
          g.strokeStyle = "rgba(49, 51, 63, 0.5)";
          g.strokeRect(geo.L + 0.5, Math.round(y) + 0.5, geo.R - geo.L - 1, Math.max(1, Math.round(geo.rh) - 1));
          if (mine && hv.bin >= 0) {
            g.strokeStyle = hist_TEXT; g.lineWidth = 1.5;
            g.strokeRect(geo.X(hv.bin), y, geo.bw, Math.max(geo.rh, 2));
          }
        } else {
          const j = geo.ridges.indexOf(k);
          if (j < 0) continue;
          if (row.sum > 0) {
            hist_ridgePath(g, geo, geo.d, row.p, geo.base(j));
            g.strokeStyle = hist_TEXT; g.lineWidth = 1.6; g.stroke();
          }
          if (mine && hv.bin >= 0) {
            const x = geo.X(hv.bin + 0.5), y = geo.base(j) - (row.p[hv.bin] / geo.d.pmax) * geo.ridge;
            g.beginPath(); g.arc(x, y, 3, 0, 2 * Math.PI); g.fillStyle = hist_TEXT; g.fill();
            g.strokeStyle = "#ffffff"; g.lineWidth = 1.2; g.stroke();
          }
        }
      }
      const text = readoutText();
      LV.text(readout, text);
    }

    function draw() {
      if (!st.frame) return;
      layout();
      const key = cacheKey();
      if (key !== st.key || st.dirty) {
        st.key = key; st.dirty = false;
        const [r0, r1] = shownRows();
        const has = r1 > r0;
        LV.css(empty, "display", has ? "none" : "");
        st.layers.forEach((layer, i) => drawBase(layer, hist_layerData(st.frame, st.kind, i, r0, r1)));
        overlayAll();
      }
    }

    return {
      minInterval: 250,  // ms: a chart over epochs needs no more than ~4 drawings a second
      update(frame) {
        if (!frame.h.histograms || !frame.s.hist_edges) return;
        build(frame.h);
        st.frame = frame;
      },
      render() { draw(); },
    };
  },
};

/* The outline of one ridge: each run of non-empty bins as its own shape, bin centres at height
   share / pmax · ridge above the baseline (empty stretches stay open, so ridges behind show through). */
function hist_ridgePath(g, geo, d, p, base) {
  g.beginPath();
  for (let b = d.b0; b <= d.b1; b++) {
    if (!(p[b] > 0)) continue;
    g.moveTo(geo.X(b), base);
    for (; b <= d.b1 && p[b] > 0; b++) g.lineTo(geo.X(b + 0.5), base - (p[b] / d.pmax) * geo.ridge);
    g.lineTo(geo.X(b), base);
  }
}

/* Which of n rows the offset view draws: all when n <= most, else `most` evenly spaced ending at the newest. */
function hist_ridgeRows(n, most) {
  if (n <= most) return Array.from({length: n}, (_, i) => i);
  const out = [];
  for (let j = 0; j < most; j++) out.push(Math.round(j * (n - 1) / (most - 1)));
  return out;
}
