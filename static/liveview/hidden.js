/* The hidden-space view: the data points and the input plane's grid lines carried into one hidden layer's
   space (its two units, or its first two principal components). */

const hidden_SIZE = 262;
const hidden_M = {l: 34, r: 8, t: 8, b: 30};

/* The view [x0, x1, y0, y1]: the points with a margin (the grid lines may leave it: they are clipped); an
   axis spans at least a third of the other, so a flat cloud is not blown up into noise. */
function hidden_bounds(points, lines) {
  const box = arr => {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; arr && i + 1 < arr.length; i += 2) {
      const x = arr[i], y = arr[i + 1];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    return x1 >= x0 ? [x0, x1, y0, y1] : null;
  };
  const b = box(points) || box(lines);
  if (!b) return [-1, 1, -1, 1];
  let hx = (b[1] - b[0]) / 2, hy = (b[3] - b[2]) / 2;
  const big = Math.max(hx, hy, 1e-6);
  hx = Math.max(hx, big / 3) * 1.12; hy = Math.max(hy, big / 3) * 1.12;
  const cx = (b[0] + b[1]) / 2, cy = (b[2] + b[3]) / 2;
  return [cx - hx, cx + hx, cy - hy, cy + hy];
}

PANELS.hidden = {
  create(host, ctx) {
    const st = {h: null, frame: null, pts: null, prevPts: null, lines: null, prevLines: null,
      view: null, fromView: null, toView: null, lastT: 1, pendingLayer: null, pendingAt: 0, layersKey: ""};
    const head = LV.el("div", {class: "lv-head"}, host);
    LV.el("span", {class: "lv-title", text: "Hidden space"}, head);
    const controls = LV.el("span", {class: "lv-controls"}, head);
    const selLabel = LV.el("label", {}, controls);
    const sel = LV.el("select", {testid: "hidden-layer", "aria-label": "hidden layer shown"}, selLabel);
    const c = LV.canvas(host, hidden_SIZE, hidden_SIZE, "hidden-space");
    c.el.setAttribute("aria-label", "the data and the input plane's grid in a hidden layer's space");
    const caption = LV.el("div", {class: "lv-caption"}, host);
    ctx.shared.hidden_invalidate = () => ctx.invalidate();

    sel.addEventListener("change", () => {
      const layer = parseInt(sel.value, 10);
      st.pendingLayer = layer; st.pendingAt = performance.now();
      ctx.emit("hidden_layer", {layer});
    });

    function layerSelect(hd) {
      const key = JSON.stringify(hd.layers);
      if (key !== st.layersKey) {
        st.layersKey = key;
        sel.textContent = "";
        for (const k of hd.layers) LV.el("option", {value: String(k), text: `layer ${k}`}, sel);
      }
      if (st.pendingLayer !== null && (hd.layer === st.pendingLayer || performance.now() - st.pendingAt > 3000
          || !hd.layers.includes(st.pendingLayer))) st.pendingLayer = null;
      const want = String(st.pendingLayer !== null ? st.pendingLayer : hd.layer);
      if (sel.value !== want) sel.value = want;
    }

    function render(t) {
      const h = st.h;
      if (!h || !h.hidden || !st.pts) return;
      const e = t >= 1 ? 1 : LV.ease(t);
      st.lastT = e;
      const side = Math.max(180, Math.min(hidden_SIZE, ctx.width()));
      c.resize(side, side);
      LV.css(host, "width", side + "px");
      const g = c.g, W = c.w, H = c.h;
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      g.clearRect(0, 0, W, H);
      const L = hidden_M.l, T = hidden_M.t, S = Math.min(W - hidden_M.l - hidden_M.r, H - hidden_M.t - hidden_M.b);
      const v = st.toView.map((b, i) => st.fromView ? LV.lerp(st.fromView[i], b, e) : b);
      st.view = v;
      const X = x => L + (x - v[0]) / (v[1] - v[0]) * S, Y = y => T + (1 - (y - v[2]) / (v[3] - v[2])) * S;
      const at = (cur, prev, i) => (prev && e < 1 ? prev[i] + (cur[i] - prev[i]) * e : cur[i]);
      // frame and light background
      g.fillStyle = "#fbfbfc"; g.fillRect(L, T, S, S);
      g.strokeStyle = "#d5d6dc"; g.lineWidth = 1; g.strokeRect(L - 0.5, T - 0.5, S + 1, S + 1);
      g.save();
      g.beginPath(); g.rect(L, T, S, S); g.clip();
      // the input plane's grid lines
      const G = st.lineShape[0], P = st.lineShape[1];
      g.lineWidth = 1; g.strokeStyle = "rgba(128,132,149,0.55)";
      g.beginPath();
      for (let l = 0; l < G; l++) {
        for (let p = 0; p < P; p++) {
          const i = (l * P + p) * 2;
          const x = X(at(st.lines, st.prevLines, i)), y = Y(at(st.lines, st.prevLines, i + 1));
          if (p === 0) g.moveTo(x, y); else g.lineTo(x, y);
        }
      }
      g.stroke();
      // the points, coloured like the boundary's
      const reg = h.task === "regression", lab = st.label, split = st.split;
      const showTest = !!ctx.shared.boundary_showTest;
      for (const s of [0, 1, 2]) {
        if (s === 2 && !showTest) continue;
        for (let k = 0; k < st.n; k++) {
          if (split[k] !== s) continue;
          const x = X(at(st.pts, st.prevPts, 2 * k)), y = Y(at(st.pts, st.prevPts, 2 * k + 1));
          const rgb = reg ? LV.valueRGB(h, lab[k]) : LV.classRGB(h, lab[k]);
          const col = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
          if (s === 2) { boundary_stamp(g, boundary_sprite(null, 2.8, col, 1.4, c.dpr), x, y); continue; }
          g.globalAlpha = s === 1 ? 0.72 : 0.95;
          boundary_stamp(g, boundary_sprite(col, s === 1 ? 2.2 : 2.8, reg ? "rgba(49,51,63,0.5)" : "#ffffff", 0.8, c.dpr), x, y);
          g.globalAlpha = 1;
        }
      }
      g.restore();
      // axes
      g.font = '11px "Source Sans Pro", sans-serif'; g.fillStyle = "#808495"; g.strokeStyle = "#b9bac3";
      g.textAlign = "center"; g.textBaseline = "top";
      g.beginPath();
      for (const tv of boundary_ticks(v[0], v[1], 4)) {
        const x = Math.round(X(tv)) + 0.5;
        g.moveTo(x, T + S + 1); g.lineTo(x, T + S + 4);
        g.fillText(boundary_tickText(tv), x, T + S + 5);
      }
      g.textAlign = "right"; g.textBaseline = "middle";
      for (const tv of boundary_ticks(v[2], v[3], 4)) {
        const y = Math.round(Y(tv)) + 0.5;
        g.moveTo(L - 1, y); g.lineTo(L - 4, y);
        g.fillText(boundary_tickText(tv), L - 6, y);
      }
      g.stroke();
      const ax = h.hidden.axes || ["h1", "h2"];
      g.font = '12px "Source Sans Pro", sans-serif'; g.fillStyle = "#31333f";
      g.textAlign = "center"; g.textBaseline = "bottom";
      g.fillText(ax[0], L + S / 2, H - 1);
      g.save(); g.translate(10, T + S / 2); g.rotate(-Math.PI / 2); g.textBaseline = "middle"; g.fillText(ax[1], 0, 0); g.restore();
    }

    return {
      minInterval: 200,  // ms: ~5 drawings a second show the hidden space move as the network learns
      update(frame, prev) {
        const h = frame.h, a = frame.a, hd = h.hidden;
        if (!hd) { st.h = h; st.pts = null; return; }
        const pts = a.hidden_points, lines = a.hidden_lines;
        if (!pts || !lines) throw new Error("the frame has no hidden_points/hidden_lines arrays");
        const e = st.lastT;
        // ease from what is on screen now, when the shapes match
        const shown = (cur, old) => (cur && old && e < 1 ? cur.map((x, i) => old[i] + (x - old[i]) * e) : cur);
        st.prevPts = st.pts && st.pts.length === pts.length ? Float32Array.from(shown(st.pts, st.prevPts)) : null;
        st.prevLines = st.lines && st.lines.length === lines.length ? Float32Array.from(shown(st.lines, st.prevLines)) : null;
        st.pts = Float32Array.from(pts); st.lines = Float32Array.from(lines);
        st.lineShape = frame.s.hidden_lines;
        st.n = pts.length / 2;
        st.label = a.points_label && a.points_label.length === st.n ? a.points_label : new Uint8Array(st.n);
        st.split = a.points_split && a.points_split.length === st.n ? a.points_split : new Uint8Array(st.n);
        // autoscale: grow at once, shrink part of the way per frame, so the view does not jump
        const b = hidden_bounds(pts, lines);
        const sameLayer = st.h && st.h.hidden && st.h.hidden.layer === hd.layer && st.h.hidden.basis === hd.basis;
        let target = b;
        if (st.toView && sameLayer) {
          const o = st.toView, k = 0.35;
          target = [b[0] < o[0] ? b[0] : o[0] + (b[0] - o[0]) * k, b[1] > o[1] ? b[1] : o[1] + (b[1] - o[1]) * k,
                    b[2] < o[2] ? b[2] : o[2] + (b[2] - o[2]) * k, b[3] > o[3] ? b[3] : o[3] + (b[3] - o[3]) * k];
        }
        st.fromView = st.view ? st.view.slice() : null;
        st.toView = target;
        st.h = h; st.frame = frame;
        layerSelect(hd);
        const what = hd.basis === "pca" ? "first two principal components" : "its two units";
        const units = h.network && h.network.sizes ? h.network.sizes[hd.layer] : null;
        LV.text(caption, hd.basis === "pca"
          ? `How layer ${hd.layer} bends the input plane (${what}${units ? ` of its ${units} units` : ""})`
          : `How layer ${hd.layer} bends the input plane (${units === 1 ? "its one unit" : what})`);
      },
      render,
    };
  },
};
