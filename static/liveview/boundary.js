/* The boundary panel: the network's output over the input plane (or one neuron's, while the diagram points at
   it), the data points, axes, a colour legend, and drawing your own data points. */

const boundary_M = {l: 36, r: 6, t: 6, b: 34};      // margins around the plot square (CSS px)
const boundary_SIDE = 300;                           // plot side when there is room
const boundary_WHITE = "#f8f8f8";
const boundary_FONT = '11px "Source Sans Pro", sans-serif';
const boundary_TITLE_FONT = '12px "Source Sans Pro", sans-serif';

/* A dot drawn once into a small canvas and stamped with drawImage: per point that costs a fraction of an
   antialiased arc with fill and strokes (hundreds of points are drawn per frame). Cached by look and dpr. */
const boundary_sprites = new Map();
function boundary_sprite(fill, r, stroke, lw, dpr, halo = null) {
  const key = [fill, r, stroke, lw, dpr, halo].join("|");
  let s = boundary_sprites.get(key);
  if (s) return s;
  const reach = r + lw + (halo ? 1.5 : 0) + 1;
  const el = document.createElement("canvas");
  el.width = el.height = Math.ceil(2 * reach * dpr);
  const g = el.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (halo) { g.beginPath(); g.arc(reach, reach, r + 1, 0, 2 * Math.PI); g.lineWidth = 0.8; g.strokeStyle = halo; g.stroke(); }
  g.beginPath(); g.arc(reach, reach, r, 0, 2 * Math.PI);
  if (fill) { g.fillStyle = fill; g.fill(); }
  if (stroke) { g.lineWidth = lw; g.strokeStyle = stroke; g.stroke(); }
  s = {el, reach};
  if (boundary_sprites.size > 512) boundary_sprites.clear();
  boundary_sprites.set(key, s);
  return s;
}
function boundary_stamp(g, sprite, x, y) {
  g.drawImage(sprite.el, x - sprite.reach, y - sprite.reach, 2 * sprite.reach, 2 * sprite.reach);
}

/* About n "nice" tick values covering [lo, hi]. */
function boundary_ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(f => f * mag).find(s => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function boundary_tickText(v) { return LV.fmt(v, 3).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1"); }

function boundary_css(rgb) { return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`; }

/* 256 colours (Uint8 RGB × 256) of a scalar quantized 0..255. */
function boundary_lut(fn) {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) { const c = fn(i); lut[i * 3] = c[0]; lut[i * 3 + 1] = c[1]; lut[i * 3 + 2] = c[2]; }
  return lut;
}

function boundary_binaryLut(h, discrete) {
  const c0 = LV.classRGB(h, 0), c1 = LV.classRGB(h, 1);
  const lo = LV.mix(c0, boundary_WHITE, discrete ? 0.5 : 0.22), hi = LV.mix(c1, boundary_WHITE, discrete ? 0.5 : 0.22);
  return boundary_lut(i => {
    const p = i / 255;
    if (discrete) return p >= 0.5 ? hi : lo;
    return p < 0.5 ? LV.mix(lo, boundary_WHITE, p * 2) : LV.mix(boundary_WHITE, hi, p * 2 - 1);
  });
}

function boundary_valueLut(h, discrete) {
  return boundary_lut(i => {
    const u = discrete ? Math.min(255, Math.floor(i / 32) * 32 + 16) : i;
    return LV.mix(LV.valueRGB(h, u), boundary_WHITE, 0.2);
  });
}

function boundary_neuronLut(h) { return boundary_lut(i => LV.diverging(h, (i - 128) / 127)); }

/* Fill RGBA `out` (n×n, top row first) from an R×R scalar grid (row 0 = bottom), eased from `prev` by t,
   upsampled k times with bilinear interpolation (n = (R − 1)·k + 1), coloured by `lut`. */
function boundary_scalarImage(out, vals, prev, t, R, k, lut) {
  const n = (R - 1) * k + 1;
  const mixed = prev && t < 1 ? new Float32Array(vals.length) : vals;
  if (mixed !== vals) for (let i = 0; i < vals.length; i++) mixed[i] = prev[i] + (vals[i] - prev[i]) * t;
  let o = 0;
  for (let r = 0; r < n; r++) {
    const gy = (n - 1 - r) / k, y0 = Math.min(R - 2, Math.floor(gy)), fy = gy - y0;
    for (let c = 0; c < n; c++) {
      let v;
      if (k === 1) v = mixed[(n - 1 - r) * R + c];
      else {
        const gx = c / k, x0 = Math.min(R - 2, Math.floor(gx)), fx = gx - x0;
        const i = y0 * R + x0;
        const a = mixed[i] + (mixed[i + 1] - mixed[i]) * fx;
        const b = mixed[i + R] + (mixed[i + R + 1] - mixed[i + R]) * fx;
        v = a + (b - a) * fy;
      }
      const j = Math.max(0, Math.min(255, Math.round(v))) * 3;
      out[o] = lut[j]; out[o + 1] = lut[j + 1]; out[o + 2] = lut[j + 2]; out[o + 3] = 255;
      o += 4;
    }
  }
  return n;
}

/* Multiclass colours (R×R×3, row 0 = bottom): the class colour toward white by 1 − confidence. */
function boundary_classColours(h, cls, conf, discrete) {
  const n = cls.length, out = new Float32Array(n * 3);
  const K = Math.max(1, (h.classes || []).length);
  for (let i = 0; i < n; i++) {
    const c = LV.classRGB(h, cls[i]);
    let w;
    if (discrete) w = 0.5;
    else {
      const p = conf[i] / 255, floor = 1 / K;  // confidence ranges over [1/K, 1]
      w = 0.3 + 0.7 * (1 - Math.max(0, (p - floor) / (1 - floor || 1)));
    }
    const wc = LV.hex(boundary_WHITE);
    out[i * 3] = c[0] + (wc[0] - c[0]) * w; out[i * 3 + 1] = c[1] + (wc[1] - c[1]) * w; out[i * 3 + 2] = c[2] + (wc[2] - c[2]) * w;
  }
  return out;
}

function boundary_rgbImage(out, rgb, prev, t, R) {
  let o = 0;
  for (let r = 0; r < R; r++) {
    const row = R - 1 - r;
    for (let c = 0; c < R; c++) {
      const i = (row * R + c) * 3;
      for (let q = 0; q < 3; q++) out[o + q] = prev && t < 1 ? prev[i + q] + (rgb[i + q] - prev[i + q]) * t : rgb[i + q];
      out[o + 3] = 255;
      o += 4;
    }
  }
  return R;
}

/* Bilinear value of an R×R grid (row 0 = bottom) at fractional grid coordinates. */
function boundary_sample(vals, R, gx, gy) {
  gx = Math.max(0, Math.min(R - 1, gx)); gy = Math.max(0, Math.min(R - 1, gy));
  const x0 = Math.min(R - 2, Math.floor(gx)), y0 = Math.min(R - 2, Math.floor(gy)), fx = gx - x0, fy = gy - y0;
  const i = y0 * R + x0;
  const a = vals[i] + (vals[i + 1] - vals[i]) * fx, b = vals[i + R] + (vals[i + R + 1] - vals[i + R]) * fx;
  return a + (b - a) * fy;
}

PANELS.boundary = {
  create(host, ctx) {
    const st = {h: null, frame: null, R: 0, vals: null, prevVals: null, rgb: null, prevRgb: null,
      lastT: 1, showTest: false, discrete: false, draw: false, mouse: null, pending: [], side: boundary_SIDE,
      imgKey: "", legendKey: "", drawKey: ""};
    ctx.shared.boundary_showTest = false;

    const head = LV.el("div", {class: "lv-head"}, host);
    const title = LV.el("span", {class: "lv-title", text: "Decision boundary"}, head);
    const caption = LV.el("span", {class: "lv-caption", testid: "boundary-caption"}, head);
    const c = LV.canvas(host, boundary_SIDE + boundary_M.l + boundary_M.r, boundary_SIDE + boundary_M.t + boundary_M.b,
      "boundary");
    c.el.setAttribute("aria-label", "the network's output over the input plane, with the data points");
    const legend = LV.el("div", {class: "lv-b-legend"}, host);
    const readout = LV.el("div", {class: "lv-b-readout", testid: "boundary-readout"}, host);

    const controls = LV.el("div", {class: "lv-controls lv-b-controls"}, host);
    const testLabel = LV.el("label", {title: "draw the test points as rings"}, controls);
    const testBox = LV.el("input", {type: "checkbox", testid: "show-test"}, testLabel);
    LV.el("span", {text: "show test data"}, testLabel);
    const discLabel = LV.el("label", {title: "colour by the predicted class only"}, controls);
    const discBox = LV.el("input", {type: "checkbox", testid: "discretize"}, discLabel);
    LV.el("span", {text: "discretize output"}, discLabel);

    const drawRow = LV.el("div", {class: "lv-controls lv-b-draw lv-off"}, host);
    const drawLabel = LV.el("label", {title: "click on the plane to add points; Shift-click removes the nearest"}, drawRow);
    const drawBox = LV.el("input", {type: "checkbox", testid: "draw-mode"}, drawLabel);
    LV.el("span", {text: "draw points"}, drawLabel);
    const tools = LV.el("span", {class: "lv-b-draw-tools"}, drawRow);
    const swatch = LV.el("span", {class: "lv-b-swatch"}, tools);
    const classSel = LV.el("select", {testid: "draw-class", "aria-label": "class of the drawn points"}, tools);
    const valueIn = LV.el("input", {type: "number", step: "any", "aria-label": "value of the drawn points"}, tools);
    const undoBtn = LV.el("button", {type: "button", testid: "draw-undo", text: "undo"}, tools);
    const clearBtn = LV.el("button", {type: "button", testid: "draw-clear", text: "clear"}, tools);
    drawRow.hidden = true;

    const plot = () => {
      const s = st.side;
      return {L: boundary_M.l, T: boundary_M.t, S: s};
    };
    const toPlane = (px, py) => {
      const p = st.h && st.h.plane, {L, T, S} = plot();
      if (!p) return null;
      const u = (px - L) / S, v = (py - T) / S;
      if (u < 0 || u > 1 || v < 0 || v > 1) return null;
      return {x: p.x[0] + u * (p.x[1] - p.x[0]), y: p.y[1] - v * (p.y[1] - p.y[0]), u, v};
    };
    const isRegression = () => st.h && (st.h.boundary ? st.h.boundary.kind : st.h.task) === "regression";
    const drawLabelValue = () => {
      if (isRegression()) {
        const v = parseFloat(valueIn.value);
        return Number.isFinite(v) ? v : null;
      }
      return parseInt(classSel.value, 10) || 0;
    };
    const updateSwatch = () => {
      if (!st.h) return;
      if (isRegression()) {
        const r = st.h.boundary ? st.h.boundary.range : [0, 1];
        const v = parseFloat(valueIn.value);
        const u = Number.isFinite(v) ? (v - r[0]) / ((r[1] - r[0]) || 1) * 255 : 128;
        swatch.style.background = boundary_css(LV.valueRGB(st.h, u));
      } else swatch.style.background = boundary_css(LV.classRGB(st.h, parseInt(classSel.value, 10) || 0));
    };
    const setDraw = on => {
      st.draw = !!on && !!(st.h && st.h.editable);
      drawBox.checked = st.draw;
      host.classList.toggle("lv-drawing", st.draw);
      drawRow.classList.toggle("lv-off", !st.draw);
      showReadout();
    };

    testBox.addEventListener("change", () => {
      st.showTest = ctx.shared.boundary_showTest = testBox.checked;
      ctx.invalidate();
      if (typeof ctx.shared.hidden_invalidate === "function") ctx.shared.hidden_invalidate();
    });
    discBox.addEventListener("change", () => { st.discrete = discBox.checked; st.imgKey = ""; st.legendKey = ""; ctx.invalidate(); });
    drawBox.addEventListener("change", () => setDraw(drawBox.checked));
    classSel.addEventListener("change", updateSwatch);
    valueIn.addEventListener("input", updateSwatch);
    undoBtn.addEventListener("click", () => { st.pending = []; ctx.emit("draw", {op: "undo"}); ctx.invalidate(); });
    clearBtn.addEventListener("click", () => { st.pending = []; ctx.emit("draw", {op: "clear"}); ctx.invalidate(); });

    const local = ev => { const r = c.el.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
    c.el.addEventListener("mousemove", ev => { st.mouse = local(ev); showReadout(); });
    c.el.addEventListener("mouseleave", () => { st.mouse = null; showReadout(); });
    c.el.addEventListener("click", ev => {
      if (!st.draw || !st.h || !st.h.editable) return;
      const q = toPlane(...local(ev));
      if (!q) return;
      if (ev.shiftKey) ctx.emit("draw", {op: "remove", x: q.x, y: q.y});
      else {
        const lab = drawLabelValue();
        if (lab === null) { readout.textContent = "type a value for the drawn points first"; return; }
        ctx.emit("draw", {op: "add", x: q.x, y: q.y, label: lab});
        st.pending.push({x: q.x, y: q.y, label: lab});
        ctx.invalidate();
      }
    });

    /* The readout: the value under the mouse, or what a click does in draw mode. */
    function showReadout() {
      const h = st.h;
      if (!h || !h.plane) { LV.text(readout, ""); return; }
      const q = st.mouse && toPlane(...st.mouse);
      if (!q) {
        LV.text(readout, st.draw
          ? (isRegression() ? "click: add a point with this value" : "click: add a point of this class") + " · Shift-click: remove the nearest"
          : "hover the plane to read the output");
        LV.toggle(readout, "lv-muted", true);
        return;
      }
      LV.toggle(readout, "lv-muted", false);
      const ax = h.plane.axes || ["x1", "x2"];
      let text = `${ax[0]} ${q.x.toFixed(2)}, ${ax[1]} ${q.y.toFixed(2)}: `;
      const f = ctx.focus, thumb = f && st.frame && st.frame.a["thumb_" + f.layer];
      if (thumb && st.focusOk) {
        const T = h.plane.thumb, off = f.unit * T * T;
        const u = boundary_sample(thumb.subarray(off, off + T * T), T, q.u * (T - 1), (1 - q.v) * (T - 1));
        const m = f.layer === 0 ? 1 : ((h.network && h.network.neuron_scale) || 1);
        text += `${st.focusName} = ${LV.fmt((u - 128) / 127 * m, 3)}${f.layer === 0 ? " (of its max |value|)" : ""}`;
      } else if (st.vals || st.cls) {
        const R = st.R, gx = q.u * (R - 1), gy = (1 - q.v) * (R - 1);
        const kind = h.boundary ? h.boundary.kind : h.task;
        if (kind === "multiclass") {
          const i = Math.round(gy) * R + Math.round(gx);
          const k = st.cls[i];
          text += `${(h.classes || [])[k] ?? k} (p = ${(st.conf[i] / 255).toFixed(2)})`;
        } else if (kind === "regression") {
          const r = h.boundary.range, u = boundary_sample(st.vals, R, gx, gy);
          text += `value = ${LV.fmt(r[0] + u / 255 * (r[1] - r[0]), 3)}`;
        } else {
          const u = boundary_sample(st.vals, R, gx, gy);
          text += `p(${(h.classes || [])[1] ?? "1"}) = ${(u / 255).toFixed(2)}`;
        }
      } else text = text.replace(/: $/, "");
      LV.text(readout, text);
    }

    function buildLegend() {
      const h = st.h, f = ctx.focus && st.focusOk ? ctx.focus : null;
      const kind = h.boundary ? h.boundary.kind : h.task;
      // (what the legend shows only: the neurons' scale while one is focused, the range for regression)
      const key = JSON.stringify([kind, h.classes, h.colours, kind === "regression" && h.boundary && h.boundary.range, f,
        st.discrete, f && f.layer > 0 && h.network && h.network.neuron_scale]);
      if (key === st.legendKey) return;
      st.legendKey = key;
      legend.textContent = "";
      const ramp = (lo, hi, stops) => {
        const box = LV.el("span", {class: "lv-b-ramp"}, legend);
        LV.el("span", {text: lo}, box);
        const bar = LV.el("span", {class: "lv-b-bar"}, box);
        bar.style.background = `linear-gradient(to right, ${stops.map(boundary_css).join(", ")})`;
        LV.el("span", {text: hi}, box);
      };
      const item = (text, rgb) => {
        const it = LV.el("span", {class: "lv-b-item"}, legend);
        LV.el("span", {class: "lv-b-swatch"}, it).style.background = boundary_css(rgb);
        LV.el("span", {text}, it);
      };
      if (f) {
        const m = f.layer === 0 ? 1 : ((h.network && h.network.neuron_scale) || 1);
        const stops = [-1, -0.5, 0, 0.5, 1].map(v => LV.diverging(h, v));
        ramp(f.layer === 0 ? "−max" : LV.fmt(-m, 2), f.layer === 0 ? "+max" : LV.fmt(m, 2), stops);
        return;
      }
      if (kind === "regression") {
        const r = h.boundary.range, lut = boundary_valueLut(h, st.discrete);
        const stops = [0, 32, 64, 96, 128, 160, 192, 224, 255].map(i => [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]]);
        ramp(LV.fmt(r[0], 3), LV.fmt(r[1], 3), stops);
      } else if (kind === "binary") {
        const lut = boundary_binaryLut(h, false);
        const stops = [0, 64, 128, 191, 255].map(i => [lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2]]);
        ramp((h.classes || [])[0] ?? "0", (h.classes || [])[1] ?? "1", stops);
      } else (h.classes || []).forEach((name, k) => item(name, LV.classRGB(h, k)));
    }

    function buildDraw() {
      const h = st.h;
      LV.show(drawRow, h.editable && h.plane);
      if (!h.editable && st.draw) setDraw(false);
      const reg = isRegression();
      const key = JSON.stringify([reg, h.classes, h.colours, h.boundary && h.boundary.range]);
      if (key === st.drawKey) return;
      st.drawKey = key;
      classSel.hidden = reg;
      valueIn.hidden = !reg;
      // the one visible picker carries the test id
      if (reg) { classSel.removeAttribute("data-testid"); valueIn.setAttribute("data-testid", "draw-class"); }
      else { valueIn.removeAttribute("data-testid"); classSel.setAttribute("data-testid", "draw-class"); }
      if (reg) {
        const r = h.boundary ? h.boundary.range : [0, 1];
        if (valueIn.value === "") valueIn.value = String(+((r[0] + r[1]) / 2).toFixed(Math.max(0, 2 - Math.floor(Math.log10(Math.abs(r[1] - r[0]) || 1)))));
        valueIn.title = `value of the drawn points (data range ${LV.fmt(r[0], 3)} to ${LV.fmt(r[1], 3)})`;
      } else {
        const keep = classSel.value;
        classSel.textContent = "";
        (h.classes || []).forEach((name, k) => {
          const o = LV.el("option", {value: String(k), text: name}, classSel);
          o.style.color = boundary_css(LV.classRGB(h, k));
        });
        if (keep && +keep < (h.classes || []).length) classSel.value = keep;
      }
      updateSwatch();
    }

    /* The plot's pixels into st.off (an offscreen canvas whose pixel centres fall on the sample points). */
    function paintImage(t) {
      const h = st.h, f = ctx.focus;
      const kind = h.boundary ? h.boundary.kind : h.task;
      const T = h.plane.thumb;
      const thumbs = f && st.frame.a["thumb_" + f.layer];
      st.focusOk = !!(thumbs && f.unit >= 0 && (f.unit + 1) * T * T <= thumbs.length);
      const key = [st.frame.h.id, t, st.discrete, st.focusOk ? f.layer + ":" + f.unit : "-"].join("|");
      if (key === st.imgKey) return;
      st.imgKey = key;
      let n, fill;
      if (st.focusOk) {
        const off = f.unit * T * T, cur = thumbs.subarray(off, off + T * T);
        const pt = st.prevFrame && st.prevFrame.a["thumb_" + f.layer];
        const prev = pt && pt.length === thumbs.length ? pt.subarray(off, off + T * T) : null;
        n = (T - 1) * 4 + 1;
        fill = out => boundary_scalarImage(out, cur, prev, t, T, 4, st.neuronLut || (st.neuronLut = boundary_neuronLut(h)));
      } else if (kind === "multiclass") {
        if (!st.rgb || st.rgbDiscrete !== st.discrete) {
          st.rgb = boundary_classColours(h, st.cls, st.conf, st.discrete);
          st.prevRgb = st.prevCls ? boundary_classColours(h, st.prevCls, st.prevConf, st.discrete) : null;
          st.rgbDiscrete = st.discrete;
        }
        n = st.R;
        fill = out => boundary_rgbImage(out, st.rgb, st.prevRgb, t, st.R);
      } else {
        const lut = kind === "regression" ? boundary_valueLut(h, st.discrete) : boundary_binaryLut(h, st.discrete);
        const k = st.discrete ? 4 : 1;
        n = (st.R - 1) * k + 1;
        fill = out => boundary_scalarImage(out, st.vals, st.prevVals, t, st.R, k, lut);
      }
      if (!st.off || st.off.width !== n) {
        st.off = document.createElement("canvas");
        st.off.width = st.off.height = n;
        st.offG = st.off.getContext("2d");
        st.img = st.offG.createImageData(n, n);
      }
      fill(st.img.data);
      st.offG.putImageData(st.img, 0, 0);
    }

    /* The data points never change during a run: they are drawn once into a layer the size of the canvas
       and laid over the picture with one drawImage per frame. */
    function pointsLayer(X, Y) {
      const el = c.el, P = st.points;
      const key = [st.pointsKey, st.showTest, el.width, el.height, c.dpr, st.side, st.pending.length].join("|");
      if (st.layerKey === key) return st.layer;
      if (!st.layer) st.layer = document.createElement("canvas");
      st.layer.width = el.width; st.layer.height = el.height;
      const g = st.layer.getContext("2d");
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      drawPoints(g, X, Y);
      st.layerKey = key;
      return st.layer;
    }

    function drawPoints(g, X, Y) {
      const h = st.h, P = st.points;
      if (!P) return;
      const reg = isRegression();
      const colour = k => boundary_css(reg ? LV.valueRGB(h, P.label[k]) : LV.classRGB(h, P.label[k]));
      const rim = reg ? "rgba(49,51,63,0.55)" : "#ffffff";
      const halo = reg ? null : "rgba(49,51,63,0.28)";
      for (const split of [0, 1]) {
        const r = split === 0 ? 3.4 : 2.6;
        g.globalAlpha = split === 0 ? 1 : 0.72;
        for (let k = 0; k < P.n; k++) {
          if (P.split[k] !== split) continue;
          boundary_stamp(g, boundary_sprite(colour(k), r, rim, 1.1, c.dpr, halo), X(P.x[k]), Y(P.y[k]));
        }
      }
      g.globalAlpha = 1;
      if (st.showTest) {
        for (let k = 0; k < P.n; k++) {
          if (P.split[k] !== 2) continue;
          const x = X(P.x[k]), y = Y(P.y[k]);
          boundary_stamp(g, boundary_sprite(null, 3.6, "rgba(255,255,255,0.85)", 3, c.dpr), x, y);
          boundary_stamp(g, boundary_sprite(null, 3.6, colour(k), 1.6, c.dpr), x, y);
        }
      }
      for (const q of st.pending) {  // clicked, not yet in a frame
        g.beginPath();
        g.arc(X(q.x), Y(q.y), 3.4, 0, 2 * Math.PI);
        const r = h.boundary ? h.boundary.range : [0, 1];
        g.fillStyle = boundary_css(reg ? LV.valueRGB(h, (q.label - r[0]) / ((r[1] - r[0]) || 1) * 255) : LV.classRGB(h, q.label));
        g.globalAlpha = 0.6; g.fill(); g.globalAlpha = 1;
        g.lineWidth = 1; g.strokeStyle = rim; g.stroke();
      }
    }

    function drawAxes(g, L, T, S) {
      const p = st.h.plane, ax = p.axes || ["x1", "x2"];
      g.strokeStyle = "#d5d6dc"; g.lineWidth = 1;
      g.strokeRect(L - 0.5, T - 0.5, S + 1, S + 1);
      g.font = boundary_FONT; g.fillStyle = "#808495"; g.strokeStyle = "#b9bac3";
      g.textAlign = "center"; g.textBaseline = "top";
      const X = v => L + (v - p.x[0]) / (p.x[1] - p.x[0]) * S, Y = v => T + (1 - (v - p.y[0]) / (p.y[1] - p.y[0])) * S;
      g.beginPath();
      for (const v of boundary_ticks(p.x[0], p.x[1], 5)) {
        const x = Math.round(X(v)) + 0.5;
        g.moveTo(x, T + S + 1); g.lineTo(x, T + S + 4);
        g.fillText(boundary_tickText(v), x, T + S + 5);
      }
      g.textAlign = "right"; g.textBaseline = "middle";
      for (const v of boundary_ticks(p.y[0], p.y[1], 5)) {
        const y = Math.round(Y(v)) + 0.5;
        g.moveTo(L - 1, y); g.lineTo(L - 4, y);
        g.fillText(boundary_tickText(v), L - 6, y);
      }
      g.stroke();
      g.font = boundary_TITLE_FONT; g.fillStyle = "#31333f";
      g.textAlign = "center"; g.textBaseline = "bottom";
      g.fillText(ax[0], L + S / 2, T + S + boundary_M.b - 1);
      g.save();
      g.translate(11, T + S / 2); g.rotate(-Math.PI / 2);
      g.textBaseline = "middle"; g.fillText(ax[1], 0, 0);
      g.restore();
    }

    function render(t) {
      const h = st.h;
      if (!h || !h.plane) return;
      const e = t >= 1 ? 1 : LV.ease(t);
      st.lastT = e;
      const avail = Math.max(200, Math.min(host.parentElement ? ctx.widthOf(host.parentElement) || 9999 : 9999, ctx.width()));
      st.side = Math.max(160, Math.min(boundary_SIDE, avail - boundary_M.l - boundary_M.r));
      c.resize(st.side + boundary_M.l + boundary_M.r, st.side + boundary_M.t + boundary_M.b);
      LV.css(host, "width", c.w + "px");
      paintImage(e);
      const f = ctx.focus;
      if (st.focusOk) {
        const names = f.layer === 0 && h.network ? h.network.inputs : null;
        st.focusName = f.layer === 0 ? `input ${names && names[f.unit] !== undefined ? (h.network.features.find(q => q.key === names[f.unit]) || {label: names[f.unit]}).label : f.unit + 1}`
          : `neuron ${f.unit + 1}`;
        LV.text(title, f.layer === 0 ? "Input feature" : "Neuron output");
        LV.text(caption, f.layer === 0 ? `${st.focusName}: its value over the plane`
          : `neuron ${f.unit + 1} of layer ${f.layer}: its output over the plane`);
        LV.toggle(host, "lv-focused", true);
      } else {
        LV.text(title, isRegression() ? "Prediction" : "Decision boundary");
        LV.text(caption, h.boundary ? `${h.boundary.label} over the plane` : "");
        LV.toggle(host, "lv-focused", false);
      }
      buildLegend();
      const g = c.g, {L, T, S} = plot(), p = h.plane;
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      g.clearRect(0, 0, c.w, c.h);
      const n = st.off.width, cell = S / (n - 1);
      g.save();
      g.beginPath(); g.rect(L, T, S, S); g.clip();
      g.imageSmoothingEnabled = true; g.imageSmoothingQuality = "low";  // bilinear: smooth when enlarging
      g.drawImage(st.off, L - cell / 2, T - cell / 2, S + cell, S + cell);
      const X = v => L + (v - p.x[0]) / (p.x[1] - p.x[0]) * S, Y = v => T + (1 - (v - p.y[0]) / (p.y[1] - p.y[0])) * S;
      const layer = pointsLayer(X, Y);
      g.setTransform(1, 0, 0, 1, 0, 0);
      g.drawImage(layer, 0, 0);
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      g.restore();
      drawAxes(g, L, T, S);
      if (st.mouse) showReadout();
    }

    return {
      update(frame, prev) {
        const h = frame.h, a = frame.a;
        const samePlane = st.h && st.h.plane && h.plane && st.h.plane.res === h.plane.res && st.h.task === h.task;
        // ease from what is on screen now
        const shownVals = st.vals && st.prevVals && st.lastT < 1
          ? st.vals.map((v, i) => st.prevVals[i] + (v - st.prevVals[i]) * st.lastT) : st.vals;
        st.prevFrame = prev;
        st.h = h; st.frame = frame; st.imgKey = ""; st.rgb = null; st.neuronLut = null;
        if (!h.plane) { st.vals = null; return; }
        st.R = h.plane.res;
        const kind = h.boundary ? h.boundary.kind : h.task;
        if (kind === "multiclass") {
          st.prevCls = samePlane ? st.cls : null; st.prevConf = samePlane ? st.conf : null;
          st.cls = a.boundary_class; st.conf = a.boundary_conf; st.vals = null; st.prevVals = null;
          if (!st.cls || !st.conf) throw new Error("the frame has no boundary_class/boundary_conf arrays");
        } else {
          const v = a.boundary;
          if (!v) throw new Error("the frame has no boundary array");
          st.prevVals = samePlane && shownVals && shownVals.length === v.length ? Float32Array.from(shownVals) : null;
          st.vals = Float32Array.from(v);
          st.cls = st.conf = st.prevCls = st.prevConf = null;
        }
        if (prev && prev.h.id !== h.id) st.pending = [];
        const xy = a.points_xy, n = xy ? xy.length / 2 : 0;
        const px = new Float32Array(n), py = new Float32Array(n);
        const [x0, x1] = h.plane.x, [y0, y1] = h.plane.y;
        for (let k = 0; k < n; k++) { px[k] = x0 + xy[2 * k] / 65535 * (x1 - x0); py[k] = y0 + xy[2 * k + 1] / 65535 * (y1 - y0); }
        st.points = {n, x: px, y: py, label: a.points_label || new Uint8Array(n), split: a.points_split || new Uint8Array(n)};
        let sum = n;  // the points' identity: the layer is redrawn only when they (or the plane) change
        for (let k = 0; k < xy.length; k++) sum = (sum * 31 + xy[k]) >>> 0;
        for (let k = 0; k < n; k++) sum = (sum * 31 + st.points.label[k] * 3 + st.points.split[k]) >>> 0;
        st.pointsKey = [sum, x0, x1, y0, y1, h.task].join(",");
        c.el.setAttribute("data-points", String(n));
        buildDraw();
        showReadout();
      },
      render,
      destroy() {},
    };
  },
};
