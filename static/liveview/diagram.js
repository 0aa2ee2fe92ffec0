/* The network diagram: the input features, every hidden neuron as a small picture of its own output over the
   input plane, the output, and the links between them (width = |weight|, colour = sign). Hover a neuron to see
   it large in the boundary panel; hover a link to read its weight, click it to type a new one; +/- change the
   network; a click on an input feature turns it on or off. */

const diagram_NODE = 34;           // side of a neuron's picture (CSS px)
const diagram_INPUT = 30;          // side of an input feature's picture
const diagram_TOP = 46;            // room above the columns for the +/- buttons and labels
const diagram_BOTTOM = 30;         // room below for the "8 neurons" labels
const diagram_LEFT = 58;           // room for the input labels
const diagram_MAX_H = 380;

function diagram_css(rgb, a = 1) { return a >= 1 ? `rgb(${rgb[0]},${rgb[1]},${rgb[2]})` : `rgba(${rgb[0]},${rgb[1]},${rgb[2]},${a})`; }

/* A cubic S-curve from (x1, y1) to (x2, y2): its bounding box's centre lies on the curve. */
function diagram_path(x1, y1, x2, y2) {
  const mx = (x1 + x2) / 2;
  return `M${x1.toFixed(1)},${y1.toFixed(1)} C${mx.toFixed(1)},${y1.toFixed(1)} ${mx.toFixed(1)},${y2.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}`;
}

function diagram_svg(tag, attrs, parent) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "testid") e.setAttribute("data-testid", v); else e.setAttribute(k, String(v));
  }
  if (parent) parent.appendChild(e);
  return e;
}

/* A T×T picture (uint8, row 0 at the bottom) into an ImageData, coloured on the diverging scale. */
function diagram_fill(img, cur, prev, t, T, h) {
  const out = img.data;
  const lut = diagram_lut(h);
  for (let row = 0; row < T; row++) {
    const src = (T - 1 - row) * T;  // screen row 0 is the plane's top
    for (let col = 0; col < T; col++) {
      let u = cur[src + col];
      if (prev && t < 1) u = prev[src + col] + (u - prev[src + col]) * t;
      const k = Math.max(0, Math.min(255, Math.round(u))) * 3, o = (row * T + col) * 4;
      out[o] = lut[k]; out[o + 1] = lut[k + 1]; out[o + 2] = lut[k + 2]; out[o + 3] = 255;
    }
  }
}

const diagram_luts = new Map();
function diagram_lut(h) {
  const d = h.diverging || {};
  const key = [d.neg, d.zero, d.pos].join("|");
  let lut = diagram_luts.get(key);
  if (lut) return lut;
  lut = new Uint8ClampedArray(256 * 3);
  for (let u = 0; u < 256; u++) {
    const rgb = LV.diverging(h, (u - 128) / 127);
    lut[3 * u] = rgb[0]; lut[3 * u + 1] = rgb[1]; lut[3 * u + 2] = rgb[2];
  }
  diagram_luts.set(key, lut);
  return lut;
}

PANELS.diagram = {
  create(host, ctx) {
    const head = LV.el("div", {class: "lv-head"}, host);
    const titleBox = LV.el("span", {}, head);
    LV.el("span", {class: "lv-title", text: "Network"}, titleBox);
    const summary = LV.el("span", {class: "lv-caption lv-d-summary"}, titleBox);
    const layerButtons = LV.el("span", {class: "lv-controls lv-d-layers"}, head);
    const addLayer = LV.el("button", {type: "button", testid: "add-layer", text: "+ layer",
                                      title: "add a hidden layer (a new run starts)"}, layerButtons);
    const removeLayer = LV.el("button", {type: "button", testid: "remove-layer", text: "− layer",
                                         title: "remove the last hidden layer (a new run starts)"}, layerButtons);
    addLayer.addEventListener("click", () => ctx.emit("network", {op: "add_layer"}));
    removeLayer.addEventListener("click", () => ctx.emit("network", {op: "remove_layer"}));
    const body = LV.el("div", {class: "lv-d-body"}, host);
    const svg = diagram_svg("svg", {class: "lv-d-links"}, body);
    const nodesBox = LV.el("div", {class: "lv-d-nodes"}, body);
    const caption = LV.el("div", {class: "lv-caption lv-d-caption"}, host);
    const card = LV.card(ctx, "link-card");
    const editor = LV.el("input", {type: "text", class: "lv-d-editor", testid: "weight-input",
                                   "aria-label": "new weight"}, body);
    editor.hidden = true;
    const st = {frame: null, prev: null, key: "", nodes: [], links: [], columns: [], editing: null, hover: null,
                scratch: new Map()};

    /* --- the structure: rebuilt only when the network's shape (or the space) changes ------------------- */
    function build(h) {
      const net = h.network, W = Math.max(300, ctx.width() - (h.panels.includes("boundary") ? 362 : 0));
      const key = JSON.stringify([net.sizes, net.shown, net.inputs, net.features.map(f => f.key), net.toggle,
                                  h.editable, h.task, Math.round(W / 20), net.max_layers, net.max_width]);
      if (key === st.key) return;
      st.key = key;
      svg.replaceChildren(); nodesBox.replaceChildren();
      st.nodes = []; st.links = []; st.columns = [];
      const L = net.sizes.length;  // columns: inputs, hidden layers, output
      const inputRows = net.toggle ? net.features : net.inputs.map(k => net.features.find(f => f.key === k) || {key: k, label: k});
      const counts = [inputRows.length, ...net.shown.slice(1)];
      const most = Math.max(...counts);
      const pitch = Math.max(diagram_NODE + 6, Math.min(50, (diagram_MAX_H - diagram_TOP - diagram_BOTTOM) / Math.max(most, 1)));
      const H = diagram_TOP + diagram_BOTTOM + pitch * most;
      const right = W - 30;
      const xs = Array.from({length: L}, (_, c) => diagram_LEFT + (L === 1 ? 0 : c * (right - diagram_LEFT) / (L - 1)));
      body.style.width = W + "px"; body.style.height = H + "px";
      svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
      const yOf = (n, i) => diagram_TOP + pitch * (most - n) / 2 + pitch * (i + 0.5);
      // input column: every feature (the inactive ones dimmed), links from the active ones
      const active = net.inputs;
      const inPos = [];  // y of active input i (network order)
      inputRows.forEach((f, r) => {
        const on = active.includes(f.key), y = yOf(inputRows.length, r);
        const node = LV.el("div", {class: "lv-d-node lv-d-input" + (on ? "" : " lv-d-off") + (net.toggle && h.editable ? " lv-d-toggle" : ""),
                                   testid: "input", "data-key": f.key, "data-on": on ? "1" : "0",
                                   title: net.toggle ? `${f.label}: ${on ? "on" : "off"}${h.editable ? " (click to turn " + (on ? "off)" : "on)") : ""}` : f.label}, nodesBox);
        node.style.left = (xs[0] - diagram_INPUT / 2) + "px"; node.style.top = (y - diagram_INPUT / 2) + "px";
        node.style.width = node.style.height = diagram_INPUT + "px";
        LV.el("span", {class: "lv-d-label lv-d-label-in", text: f.label}, node);
        const index = active.indexOf(f.key);
        const c = index >= 0 ? LV.canvas(node, diagram_INPUT, diagram_INPUT) : null;
        if (index >= 0) inPos[index] = y;
        st.nodes.push({layer: 0, unit: index, el: node, canvas: c, side: diagram_INPUT});
        if (index >= 0) {
          node.addEventListener("mouseenter", () => { st.hover = {layer: 0, unit: index}; ctx.setFocus(st.hover); highlight(); });
          node.addEventListener("mouseleave", () => { st.hover = null; ctx.setFocus(null); highlight(); });
        }
        if (net.toggle && h.editable) node.addEventListener("click", () => ctx.emit("inputs", {key: f.key, on: !on}));
      });
      // hidden columns and the output
      const pos = [inPos];
      for (let c = 1; c < L; c++) {
        const n = net.shown[c], ys = [];
        const isOut = c === L - 1;
        for (let u = 0; u < n; u++) {
          const y = yOf(n, u);
          ys.push(y);
          const node = LV.el("div", {class: "lv-d-node" + (isOut ? " lv-d-output" : ""), testid: isOut ? "output" : "neuron",
                                     "data-layer": String(c), "data-unit": String(u)}, nodesBox);
          node.style.left = (xs[c] - diagram_NODE / 2) + "px"; node.style.top = (y - diagram_NODE / 2) + "px";
          node.style.width = node.style.height = diagram_NODE + "px";
          const canvas = LV.canvas(node, diagram_NODE, diagram_NODE);
          const bias = LV.el("span", {class: "lv-d-bias"}, node);
          if (isOut && h.task === "multiclass") LV.el("span", {class: "lv-d-label lv-d-label-out", text: (h.classes || [])[u] || `class ${u}`}, node);
          st.nodes.push({layer: c, unit: u, el: node, canvas, bias, side: diagram_NODE, output: isOut});
          if (!isOut) {
            node.addEventListener("mouseenter", () => { st.hover = {layer: c, unit: u}; ctx.setFocus(st.hover); highlight(); });
            node.addEventListener("mouseleave", () => { st.hover = null; ctx.setFocus(null); highlight(); });
          }
        }
        pos.push(ys);
        // the column's labels and buttons
        const col = LV.el("div", {class: "lv-d-col" + (isOut ? " lv-d-col-out" : "")}, nodesBox);
        col.style.left = (xs[c] - 50) + "px";
        const top = LV.el("div", {class: "lv-d-coltop lv-controls"}, col);
        if (!isOut && h.editable) {
          const minus = LV.el("button", {type: "button", testid: "remove-unit", "data-layer": String(c), text: "−",
                                         title: `one neuron fewer in layer ${c}`}, top);
          LV.el("span", {class: "lv-d-coltitle", text: `layer ${c}`}, top);
          const plus = LV.el("button", {type: "button", testid: "add-unit", "data-layer": String(c), text: "+",
                                        title: `one neuron more in layer ${c}`}, top);
          minus.disabled = net.sizes[c] <= 1;
          plus.disabled = net.sizes[c] >= net.max_width;
          minus.addEventListener("click", () => ctx.emit("network", {op: "remove_unit", layer: c}));
          plus.addEventListener("click", () => ctx.emit("network", {op: "add_unit", layer: c}));
        } else {
          LV.el("span", {class: "lv-d-coltitle", text: isOut ? "output" : `layer ${c}`}, top);
        }
        const more = net.sizes[c] - net.shown[c];
        const label = isOut ? (h.task === "multiclass" ? `${net.sizes[c]} classes` : "")
          : `${net.sizes[c]} neuron${net.sizes[c] === 1 ? "" : "s"}`;
        const foot = LV.el("div", {class: "lv-d-colfoot", text: label + (more > 0 ? ` (+${more} more not drawn)` : "")}, col);
        foot.style.top = (H - diagram_BOTTOM + 6) + "px";
        col.style.top = "0px";
      }
      const inputsCol = LV.el("div", {class: "lv-d-col"}, nodesBox);
      inputsCol.style.left = (xs[0] - 50) + "px";
      LV.el("div", {class: "lv-d-coltop", text: net.toggle && h.editable ? "inputs (click to toggle)" : "inputs"}, inputsCol);
      // links, input side first; a group per link holds the visible line and a wider invisible one to hover
      for (let c = 0; c < L - 1; c++) {
        const from = pos[c], to = pos[c + 1];
        const x1 = xs[c] + (c === 0 ? diagram_INPUT : diagram_NODE) / 2, x2 = xs[c + 1] - diagram_NODE / 2;
        for (let i = 0; i < from.length; i++) {
          if (from[i] === undefined) continue;
          for (let j = 0; j < to.length; j++) {
            const d = diagram_path(x1, from[i], x2, to[j]);
            const g = diagram_svg("g", {class: "lv-d-link", testid: "link", "data-from": `${c}:${i}`, "data-to": `${c + 1}:${j}`}, svg);
            const hit = diagram_svg("path", {d, class: "lv-d-hit"}, g);
            const line = diagram_svg("path", {d, class: "lv-d-line"}, g);
            const link = {layer: c, from: i, to: j, g, line, hit, w: 0};
            st.links.push(link);
            g.addEventListener("mouseenter", ev => { st.hover = {link}; showCard(link, ev); highlight(); });
            g.addEventListener("mousemove", ev => { if (!st.editing) showCard(link, ev); });
            g.addEventListener("mouseleave", () => { st.hover = null; if (!st.editing) card.hide(); highlight(); });
            g.addEventListener("click", ev => startEdit(link, ev));
          }
        }
      }
      summary.textContent = ` · ${L - 2} hidden layer${L - 2 === 1 ? "" : "s"}, ${net.activation}`;
      addLayer.hidden = removeLayer.hidden = !h.editable;
      addLayer.disabled = L - 2 >= net.max_layers;
      removeLayer.disabled = L - 2 <= 0;
    }

    function unitName(layer, unit) {
      const f = st.frame;
      if (!f) return "";
      const net = f.h.network, L = net.sizes.length;
      if (layer === 0) {
        const key = net.inputs[unit], feat = net.features.find(q => q.key === key);
        return feat ? feat.label : `input ${unit + 1}`;
      }
      if (layer === L - 1) return f.h.task === "multiclass" ? `output “${(f.h.classes || [])[unit] || unit}”` : "the output";
      return `neuron ${unit + 1} of layer ${layer}`;
    }

    function weightOf(link) {
      const f = st.frame, W = f && f.a["W_" + link.layer], shape = f && f.s["W_" + link.layer];
      if (!W || !shape) return NaN;
      return W[link.from * shape[1] + link.to];
    }

    function showCard(link, ev) {
      card.show(ev.clientX, ev.clientY, `weight ${LV.fmt(weightOf(link))}\n${unitName(link.layer, link.from)} → ${unitName(link.layer + 1, link.to)}`
        + (st.frame && st.frame.h.editable ? "\nclick to type a new value" : ""));
    }

    function startEdit(link, ev) {
      if (!st.frame || !st.frame.h.editable) return;
      const r = body.getBoundingClientRect();
      st.editing = link;
      editor.hidden = false;
      editor.value = LV.fmt(weightOf(link));
      editor.style.left = Math.min(Math.max(0, ev.clientX - r.left - 40), r.width - 90) + "px";
      editor.style.top = Math.max(0, ev.clientY - r.top - 34) + "px";
      card.show(ev.clientX, ev.clientY, `new weight for ${unitName(link.layer, link.from)} → ${unitName(link.layer + 1, link.to)}: Enter applies, Escape cancels`);
      editor.focus(); editor.select();
    }

    function stopEdit() { st.editing = null; editor.hidden = true; card.hide(); }

    editor.addEventListener("keydown", ev => {
      if (ev.key === "Escape") { stopEdit(); return; }
      if (ev.key !== "Enter") return;
      const text = editor.value.trim().replace("−", "-"), v = Number(text);
      const link = st.editing;
      if (!link) return;
      if (!text || !Number.isFinite(v)) {
        const r = editor.getBoundingClientRect();
        card.show(r.left, r.bottom, "type a number, e.g. 0.5 or -1.2e-2");
        return;
      }
      ctx.emit("edit", {layer: link.layer, from: link.from, to: link.to, value: v});
      stopEdit();
    });
    editor.addEventListener("blur", () => { if (st.editing) stopEdit(); });

    function highlight() {
      const f = st.hover;
      svg.classList.toggle("lv-d-dim", !!f);
      for (const link of st.links) {
        const on = f && (f.link === link || (f.layer !== undefined &&
          ((link.layer === f.layer && link.from === f.unit) || (link.layer + 1 === f.layer && link.to === f.unit))));
        link.g.classList.toggle("lv-d-hot", !!on);
      }
      for (const n of st.nodes) n.el.classList.toggle("lv-d-hot", !!(f && f.layer === n.layer && f.unit === n.unit));
    }

    function picture(node, cur, prev, t, T, h) {
      let s = st.scratch.get(T);
      if (!s) {
        const el = document.createElement("canvas");
        el.width = el.height = T;
        s = {el, g: el.getContext("2d"), img: null};
        s.img = s.g.createImageData(T, T);
        st.scratch.set(T, s);
      }
      diagram_fill(s.img, cur, prev, t, T, h);
      s.g.putImageData(s.img, 0, 0);
      const c = node.canvas;
      c.resize(node.side, node.side);
      c.g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      c.g.imageSmoothingEnabled = true; c.g.imageSmoothingQuality = "low";
      c.g.drawImage(s.el, 0, 0, node.side, node.side);
    }

    function outputPicture(node, h, a) {
      const c = node.canvas, g = c.g;
      c.resize(node.side, node.side);
      g.setTransform(c.dpr, 0, 0, c.dpr, 0, 0);
      if (h.task === "multiclass" || !a.boundary || !h.plane) {
        g.fillStyle = diagram_css(LV.classRGB(h, node.unit)); g.fillRect(0, 0, node.side, node.side);
        return;
      }
      const R = h.plane.res;
      let s = st.scratch.get("out" + R);
      if (!s) {
        const el = document.createElement("canvas");
        el.width = el.height = R;
        s = {el, g: el.getContext("2d")};
        s.img = s.g.createImageData(R, R);
        st.scratch.set("out" + R, s);
      }
      const out = s.img.data, v = a.boundary;
      const lo = LV.classRGB(h, 0), hi = LV.classRGB(h, 1), white = [248, 248, 248];
      for (let row = 0; row < R; row++) {
        const src = (R - 1 - row) * R;
        for (let col = 0; col < R; col++) {
          const u = v[src + col] / 255;
          const rgb = h.task === "regression" ? LV.valueRGB(h, v[src + col])
            : (u < 0.5 ? LV.mix(lo, white, u * 2) : LV.mix(white, hi, u * 2 - 1));
          const o = (row * R + col) * 4;
          out[o] = rgb[0]; out[o + 1] = rgb[1]; out[o + 2] = rgb[2]; out[o + 3] = 255;
        }
      }
      s.g.putImageData(s.img, 0, 0);
      g.imageSmoothingEnabled = true; g.imageSmoothingQuality = "low";
      g.drawImage(s.el, 0, 0, node.side, node.side);
    }

    return {
      update(frame, prev) {
        st.prev = prev && prev.h.network ? prev : null;
        st.frame = frame;
        if (frame.h.network) build(frame.h);
      },
      render(t) {
        const f = st.frame;
        if (!f || !f.h.network) return;
        const h = f.h, a = f.a, net = h.network;
        build(h);
        const e = t >= 1 ? 1 : LV.ease(t);
        const prev = st.prev && st.prev.h.network && JSON.stringify(st.prev.h.network.shown) === JSON.stringify(net.shown)
          && JSON.stringify(st.prev.h.network.inputs) === JSON.stringify(net.inputs) ? st.prev : null;
        // links: width by |w| on this frame's largest |w|, colour by sign
        let top = 0;
        for (let l = 0; l < net.sizes.length - 1; l++) {
          const W = a["W_" + l];
          if (W) for (let k = 0; k < W.length; k++) top = Math.max(top, Math.abs(W[k]));
        }
        const d = h.diverging || {};
        const pos = d.pos || "#4e79a7", neg = d.neg || "#f28e2b";
        for (const link of st.links) {
          const shape = f.s["W_" + link.layer];
          const k = link.from * shape[1] + link.to;
          let w = a["W_" + link.layer][k];
          if (prev && e < 1) { const pw = prev.a["W_" + link.layer]; if (pw) w = pw[k] + (w - pw[k]) * e; }
          const r = top > 0 ? Math.abs(w) / top : 0;
          link.line.setAttribute("stroke", w >= 0 ? pos : neg);
          link.line.setAttribute("stroke-width", (0.5 + 4.5 * r).toFixed(2));
          link.line.setAttribute("stroke-opacity", (0.25 + 0.75 * Math.sqrt(r)).toFixed(2));
        }
        // neurons' pictures and biases
        const T = h.plane ? h.plane.thumb : 0;
        let btop = 0;
        for (let l = 0; l < net.sizes.length - 1; l++) {
          const b = a["b_" + l];
          if (b) for (let k = 0; k < b.length; k++) btop = Math.max(btop, Math.abs(b[k]));
        }
        for (const node of st.nodes) {
          if (!node.canvas) continue;
          if (node.output) outputPicture(node, h, a);
          else if (T && a["thumb_" + node.layer]) {
            const all = a["thumb_" + node.layer], off = node.unit * T * T;
            const p = prev && prev.a["thumb_" + node.layer];
            picture(node, all.subarray(off, off + T * T), p && p.length === all.length ? p.subarray(off, off + T * T) : null, e, T, h);
          }
          if (node.bias) {
            const b = a["b_" + (node.layer - 1)];
            const v = b ? b[node.unit] : 0, r = btop > 0 ? Math.abs(v) / btop : 0;
            node.bias.style.height = Math.max(1, Math.round(r * node.side)) + "px";
            node.bias.style.background = v >= 0 ? pos : neg;
            node.el.title = `${unitName(node.layer, node.unit)} · bias ${LV.fmt(v)}` + (node.output ? "" : " · hover to see it large");
          }
        }
        caption.textContent = `links: blue = positive weight, orange = negative, width = |weight| (largest ${LV.fmt(top)}); `
          + `neuron pictures: each neuron's output over the plane, orange −${LV.fmt(net.neuron_scale)} … blue +${LV.fmt(net.neuron_scale)}; bar at a neuron's left = its bias`;
        if (st.hover && st.hover.link && !st.editing) highlight();
      },
      destroy() {},
    };
  },
};
