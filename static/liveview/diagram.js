/* The network diagram: the input features, every hidden neuron as a small picture of its own output over the
   input plane, the output, and the links between them (width = |weight|, colour = sign). Hover a neuron to see
   it large in the boundary panel; hover a link to read its weight, click it to type a new one; +/- change the
   network; a click on an input feature turns it on or off.

   The DOM is built once per network shape; a frame only repaints the links (one canvas under the nodes; the
   SVG paths above it are only there to be hovered and clicked, and never change with a frame, so the page has
   nothing to repaint or re-layer for them) and the nodes' small pictures (on the same canvas, under the nodes'
   own elements, which stay for hover, click and the tests: one canvas to hand to the compositor per frame,
   not one per node), changes the bias bars, and eases from what is on screen to the new frame. */

const diagram_TOP = 42;            // room above the columns: the column title and its +/- buttons
const diagram_BOTTOM = 30;         // room below: "8 neurons", "+2 more"
const diagram_LEFT = 52;           // room for the input labels (more for long table column names, up to MAX)
const diagram_LEFT_MAX = 150;
const diagram_MIN_H = 300;
const diagram_MAX_H = 372;
const diagram_WHITE = "#f8f8f8";
const diagram_BIAS_X = -3, diagram_BIAS_W = 4;  // a neuron's bias bar: its left edge and width (from the node's)
const diagram_SVG = "http://www.w3.org/2000/svg";

function diagram_svg(tag, attrs, parent) {
  const e = document.createElementNS(diagram_SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k === "testid" ? "data-testid" : k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

/* A cubic S-curve from (x1, y1) to (x2, y2); its bounding box's centre lies on the curve. */
function diagram_path(x1, y1, x2, y2) {
  const mx = ((x1 + x2) / 2).toFixed(1), a = y1.toFixed(1), b = y2.toFixed(1);
  return `M${x1.toFixed(1)},${a} C${mx},${a} ${mx},${b} ${x2.toFixed(1)},${b}`;
}

/* 256 colours of a value quantized 0..255, as RGBA pixels packed for a Uint32Array view of ImageData. */
const diagram_LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
function diagram_lut(fn) {
  const lut = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const c = fn(i);
    lut[i] = diagram_LITTLE ? ((255 << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0
      : ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | 255) >>> 0;
  }
  return lut;
}

/* Fill n×n pixels (Uint32 view of an ImageData, top row first) from n×n values (row 0 = bottom) eased from
   `from` (Float32) to `to` (uint8) by t, coloured by `lut`. */
function diagram_paint(px, from, to, off, t, n, lut, base = 0, stride = n) {
  for (let row = 0; row < n; row++) {
    let src = off + (n - 1 - row) * n, o = base + row * stride;
    if (from) for (let col = 0; col < n; col++, src++, o++) px[o] = lut[(from[src] + (to[src] - from[src]) * t + 0.5) | 0];
    else for (let col = 0; col < n; col++, src++, o++) px[o] = lut[to[src]];
  }
}

/* The pictures' atlas of a view (st.atlas): tiles of sizes[k]² pixels stacked top to bottom, each inside a
   1-pixel gutter that repeats its edge (smoothing at a tile's edge then reads its own colours); tops[k] is tile
   k's first row. Made anew only when the sizes change. */
function diagram_atlas(st, sizes) {
  const key = sizes.join(",");
  if (st.atlas && st.atlas.key === key) return st.atlas;
  const W = Math.max(0, ...sizes) + 2, tops = [];
  let H = 0;
  for (const n of sizes) { tops.push(H + 1); H += n ? n + 2 : 0; }
  const atlas = st.atlas = {key, W, tops, el: null};
  if (W > 2 && H > 0) {
    atlas.el = document.createElement("canvas");
    atlas.el.width = W; atlas.el.height = H;
    atlas.g = atlas.el.getContext("2d");
    atlas.img = atlas.g.createImageData(W, H);
    atlas.px = new Uint32Array(atlas.img.data.buffer);
  }
  return atlas;
}

/* Repeat the edge of the n×n tile at base (row stride) into the 1-pixel ring around it. */
function diagram_gutter(px, base, n, stride) {
  for (let r = 0; r < n; r++) { const o = base + r * stride; px[o - 1] = px[o]; px[o + n] = px[o + n - 1]; }
  const top = base - 1, bottom = base + (n - 1) * stride - 1;
  px.copyWithin(top - stride, top, top + n + 2);
  px.copyWithin(bottom + stride, bottom, bottom + n + 2);
}

/* The network's shape and everything the DOM depends on: a new key rebuilds the diagram. */
function diagram_key(h) {
  const n = h.network;
  return JSON.stringify([n.sizes, n.shown, n.inputs, n.features.map(f => f.key + "=" + f.label), !!n.toggle,
    !!h.editable, h.task, h.classes, !!h.plane, n.max_layers, n.max_width]);
}

let diagram_measure = null;
function diagram_textWidth(text) {
  if (!diagram_measure) {
    diagram_measure = document.createElement("canvas").getContext("2d");
    diagram_measure.font = '12px "Source Sans Pro", sans-serif';
  }
  return diagram_measure.measureText(String(text)).width;
}

function diagram_max(arrays) {
  let m = 0;
  for (const a of arrays) if (a) for (let k = 0; k < a.length; k++) { const v = Math.abs(a[k]); if (v > m) m = v; }
  return m;
}

function diagram_blend(from, to, t) {  // in place: from ← from + (to − from)·t
  if (t >= 1) { from.set(to); return; }
  for (let k = 0; k < from.length; k++) from[k] += (to[k] - from[k]) * t;
}

PANELS.diagram = {
  create(host, ctx) {
    host.classList.add("lv-d");
    const head = LV.el("div", {class: "lv-head lv-d-head"}, host);
    const left = LV.el("div", {class: "lv-d-headleft lv-controls"}, head);
    LV.el("span", {class: "lv-title", text: "Network"}, left);
    const addLayer = LV.el("button", {type: "button", class: "lv-d-btn", testid: "add-layer", text: "+ layer",
      title: "add a hidden layer (a new run starts)"}, left);
    const removeLayer = LV.el("button", {type: "button", class: "lv-d-btn", testid: "remove-layer", text: "− layer",
      title: "remove the last hidden layer (a new run starts)"}, left);
    const summary = LV.el("span", {class: "lv-d-summary"}, left);
    const activation = LV.el("span", {class: "lv-caption lv-d-act"}, head);
    addLayer.addEventListener("click", () => ctx.emit("network", {op: "add_layer"}));
    removeLayer.addEventListener("click", () => ctx.emit("network", {op: "remove_layer"}));

    const stage = LV.el("div", {class: "lv-d-stage"}, host);
    const wires = LV.canvas(stage, 10, 10);  // the links, and over them the nodes' pictures (each in its node.cv)
    wires.el.classList.add("lv-d-wires");
    const svg = diagram_svg("svg", {class: "lv-d-svg", "aria-hidden": "true"}, stage);
    const linkBox = diagram_svg("g", {class: "lv-d-links"}, svg);
    const layer = LV.el("div", {class: "lv-d-nodes"}, stage);

    const caption = LV.el("div", {class: "lv-caption lv-d-caption"}, host);
    const legend = LV.el("span", {class: "lv-d-legend"}, caption);
    const swPos = LV.el("span", {class: "lv-d-sw"}, legend);
    legend.appendChild(document.createTextNode("blue = positive, "));
    const swNeg = LV.el("span", {class: "lv-d-sw"}, legend);
    legend.appendChild(document.createTextNode("orange = negative; link width = |weight|"));
    const more = LV.el("span", {class: "lv-d-more"}, caption);

    const card = LV.card(ctx, "link-card");
    const edit = LV.el("div", {class: "lv-d-edit"}, stage);
    edit.hidden = true;
    const editLabel = LV.el("div", {class: "lv-d-edit-label"}, edit);
    const input = LV.el("input", {type: "text", class: "lv-d-input-box", testid: "weight-input",
      "aria-label": "new weight", spellcheck: "false", autocomplete: "off"}, edit);
    const editMsg = LV.el("div", {class: "lv-d-edit-msg"}, edit);

    const st = {
      key: "", W: 0, SH: 0, S: 0, frame: null, te: 1, dirty: true, dpr: 0,
      nodes: [], inputs: [], cols: [], links: [], heads: [], foots: [], labels: [],
      from: null, to: null, hover: null, editing: null, editText: "", luts: {}, lutKey: "",
    };

    if (typeof ResizeObserver !== "undefined") {
      st.ro = new ResizeObserver(entries => {
        const w = Math.round(entries[entries.length - 1].contentRect.width);
        if (w > 0 && w !== st.Wseen) { st.Wseen = w; ctx.invalidate(); }
      });
      st.ro.observe(host);
    }

    const setAttr = (el, name, v) => { if (el.getAttribute(name) !== v) el.setAttribute(name, v); };

    /* ---------------------------------------------------------------- names */
    function featureLabel(net, key) {
      const f = net.features.find(q => q.key === key);
      return f ? f.label : String(key);
    }
    function unitName(l, u) {
      const h = st.frame && st.frame.h;
      if (!h) return "";
      const net = h.network, L = net.sizes.length;
      if (l === 0) return u < net.inputs.length ? featureLabel(net, net.inputs[u]) : `input ${u + 1}`;
      if (l === L - 1) return h.task === "multiclass" ? `output “${(h.classes || [])[u] ?? u}”` : "output";
      return `neuron ${u + 1} of layer ${l}`;
    }
    function weightOf(link) {
      const f = st.frame, W = f && f.a["W_" + link.l];
      return W ? W[link.k] : NaN;
    }
    function linkText(link) {
      return `weight ${LV.fmt(weightOf(link))} (${unitName(link.l, link.i)} → ${unitName(link.l + 1, link.j)})`;
    }

    /* ---------------------------------------------------------------- structure */
    function build(h) {
      const net = h.network, L = net.sizes.length, editable = !!h.editable;
      closeEdit();
      card.hide();
      linkBox.replaceChildren(); layer.replaceChildren();
      st.nodes = []; st.inputs = []; st.cols = []; st.links = []; st.heads = []; st.foots = []; st.labels = [];
      st.hover = null;
      const toggle = !!net.toggle && editable;
      // the input column: every feature (2-D data) or the table's first columns
      const rows = net.toggle ? net.features : net.inputs.map(k => ({key: k, label: featureLabel(net, k)}));
      const col0 = [];
      rows.forEach(f => {
        const index = net.inputs.indexOf(f.key), on = index >= 0;
        const el = LV.el("div", {class: "lv-d-node lv-d-in" + (on ? " lv-d-pic" : " lv-d-off") + (toggle ? " lv-d-toggle" : ""),
          testid: "input", "data-key": f.key, "data-on": on ? "1" : "0"}, layer);
        el.title = net.toggle ? `${f.label}: ${on ? "on" : "off"}${toggle ? ` (click to turn it ${on ? "off" : "on"})` : ""}`
          : f.label;
        if (toggle) {
          el.setAttribute("role", "button"); el.setAttribute("tabindex", "0");
          const flip = () => ctx.emit("inputs", {key: f.key, on: !on});
          el.addEventListener("click", flip);
          el.addEventListener("keydown", ev => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); flip(); } });
        }
        const label = LV.el("span", {class: "lv-d-label lv-d-label-in" + (on ? "" : " lv-d-label-off"), text: f.label}, layer);
        label.style.maxWidth = (diagram_LEFT_MAX - 10) + "px";
        const node = {kind: "input", l: 0, u: index, el, label, cv: on ? {x: 0, y: 0, w: 0, h: 0} : null, links: []};
        if (on) st.inputs[index] = node;
        col0.push(node); st.nodes.push(node);
        if (on) hoverable(node);
      });
      st.cols.push(col0);
      st.left = Math.min(diagram_LEFT_MAX, Math.max(diagram_LEFT, 12 + Math.max(0, ...rows.map(f => diagram_textWidth(f.label)))));
      for (let l = 1; l < L; l++) {
        const out = l === L - 1, col = [];
        for (let u = 0; u < net.shown[l]; u++) {
          const el = LV.el("div", {class: "lv-d-node lv-d-pic " + (out ? "lv-d-out" : "lv-d-neuron"),
            testid: out ? "output" : "neuron", "data-layer": String(l), "data-unit": String(u)}, layer);
          const cv = {x: 0, y: 0, w: 0, h: 0};
          let label = null;
          if (out && h.task === "multiclass") label = LV.el("span", {class: "lv-d-label lv-d-label-out",
            text: (h.classes || [])[u] ?? `class ${u}`}, layer);
          const node = {kind: out ? "output" : "neuron", l, u, el, cv, label, links: []};
          col.push(node); st.nodes.push(node);
          hoverable(node);
        }
        st.cols.push(col);
      }
      // the columns' titles, buttons and counts
      for (let l = 0; l < L; l++) {
        const hidden = l > 0 && l < L - 1;
        const headEl = LV.el("div", {class: "lv-d-colhead"}, layer);
        LV.el("div", {class: "lv-d-coltitle", text: l === 0 ? "inputs" : hidden ? `layer ${l}` : "output"}, headEl);
        if (hidden && editable) {
          const row = LV.el("div", {class: "lv-d-colbtns"}, headEl);
          const minus = LV.el("button", {type: "button", class: "lv-d-btn lv-d-round", testid: "remove-unit",
            "data-layer": String(l), text: "−", title: `one neuron fewer in layer ${l} (a new run starts)`,
            "aria-label": `remove a neuron from layer ${l}`}, row);
          const plus = LV.el("button", {type: "button", class: "lv-d-btn lv-d-round", testid: "add-unit",
            "data-layer": String(l), text: "+", title: `one neuron more in layer ${l} (a new run starts)`,
            "aria-label": `add a neuron to layer ${l}`}, row);
          minus.disabled = net.sizes[l] <= 1;
          plus.disabled = net.sizes[l] >= net.max_width;
          minus.addEventListener("click", () => ctx.emit("network", {op: "remove_unit", layer: l}));
          plus.addEventListener("click", () => ctx.emit("network", {op: "add_unit", layer: l}));
        } else if (l === 0 && toggle) {
          LV.el("div", {class: "lv-d-colsub", text: "click to turn on/off"}, headEl);
        }
        const foot = LV.el("div", {class: "lv-d-colfoot"}, layer);
        const extra = net.sizes[l] - net.shown[l];
        let text = "";
        if (hidden) text = `${net.sizes[l]} neuron${net.sizes[l] === 1 ? "" : "s"}`;
        else if (l === 0) text = net.toggle ? `${net.inputs.length} of ${net.features.length} on` : `${net.sizes[0]} input${net.sizes[0] === 1 ? "" : "s"}`;
        else if (h.task === "multiclass") text = `${net.sizes[l]} classes`;
        else if (h.boundary && h.boundary.label) text = h.boundary.label;
        LV.el("div", {text}, foot);
        if (extra > 0) LV.el("div", {class: "lv-d-extra", text: `+${extra} more`}, foot);
        st.heads.push(headEl); st.foots.push(foot);
      }
      // the links: a group per link holds a wider invisible line to hover (drawn on the canvas below)
      for (let l = 0; l < L - 1; l++) {
        const n1 = net.shown[l], n2 = net.shown[l + 1];
        for (let i = 0; i < n1; i++) {
          const a = l === 0 ? st.inputs[i] : st.cols[l][i];
          if (!a) continue;
          for (let j = 0; j < n2; j++) {
            const b = st.cols[l + 1][j];
            const g = diagram_svg("g", {class: "lv-d-link", testid: "link", "data-from": `${l}:${i}`, "data-to": `${l + 1}:${j}`}, linkBox);
            const hit = diagram_svg("path", {class: "lv-d-hit"}, g);
            const link = {l, i, j, k: i * n2 + j, g, hit, a, b, x1: 0, x2: 0, mx: 0, my: 0};
            g.__link = link;
            a.links.push(link); b.links.push(link);
            st.links.push(link);
          }
        }
      }
      svg.classList.toggle("lv-d-editable", editable);
      addLayer.hidden = removeLayer.hidden = !editable;
      addLayer.disabled = L - 2 >= net.max_layers;
      removeLayer.disabled = L - 2 <= 0;
      st.W = 0;  // lay out at the next render
      st.dirty = true;
    }

    /* Positions for the current width: nodes, labels, column heads, link curves. */
    function layout(W) {
      const h = st.frame.h, net = h.network, L = net.sizes.length;
      const counts = st.cols.map(c => c.length);
      const most = Math.max(1, ...counts);
      const SH = Math.round(Math.min(diagram_MAX_H, Math.max(diagram_MIN_H, diagram_TOP + diagram_BOTTOM + most * 44)));
      const avail = SH - diagram_TOP - diagram_BOTTOM;
      const pitch = avail / most;
      const S = Math.round(Math.max(18, Math.min(40, pitch * 0.8)));
      const So = h.task === "multiclass" || net.shown[L - 1] > 1 ? S : Math.min(48, S + 8);
      const right = h.task === "multiclass" ? 64 : 16;
      const x0 = st.left + S / 2, xL = Math.max(x0 + 40, W - right - So / 2);
      const xs = st.cols.map((_, l) => L === 1 ? x0 : x0 + (xL - x0) * l / (L - 1));
      const gap = L > 1 ? (xL - x0) / (L - 1) : W;
      st.W = W; st.SH = SH; st.S = S;
      stage.style.height = SH + "px";
      svg.setAttribute("width", String(W)); svg.setAttribute("height", String(SH));
      svg.setAttribute("viewBox", `0 0 ${W} ${SH}`);
      wires.resize(W, SH);
      const mid = diagram_TOP + avail / 2;
      st.cols.forEach((col, l) => {
        const side = l === L - 1 ? So : S;
        const step = Math.min(pitch, side + 18);
        col.forEach((node, r) => {
          const y = mid + (r - (col.length - 1) / 2) * step;
          node.x = xs[l]; node.y = y; node.side = side;
          const s = node.el.style;
          s.left = (xs[l] - side / 2) + "px"; s.top = (y - side / 2) + "px";
          s.width = s.height = side + "px";
          if (node.cv) Object.assign(node.cv, {x: xs[l] - side / 2, y: y - side / 2, w: side, h: side});
          if (node.label) {
            const ls = node.label.style;
            ls.top = y + "px";
            if (node.kind === "input") { ls.right = (W - (xs[l] - side / 2) + 7) + "px"; ls.left = ""; }
            else { ls.left = (xs[l] + side / 2 + 7) + "px"; ls.right = ""; }
          }
        });
      });
      const colW = Math.max(56, Math.min(128, gap - 6));
      st.heads.forEach((el, l) => { el.style.left = (xs[l] - colW / 2) + "px"; el.style.width = colW + "px"; });
      st.foots.forEach((el, l) => {
        el.style.left = (xs[l] - colW / 2) + "px"; el.style.width = colW + "px";
        el.style.top = (SH - diagram_BOTTOM + 4) + "px";
      });
      for (const link of st.links) {
        const x1 = link.a.x + link.a.side / 2, x2 = link.b.x - link.b.side / 2;
        link.hit.setAttribute("d", diagram_path(x1, link.a.y, x2, link.b.y));
        link.x1 = x1; link.x2 = x2; link.mx = (x1 + x2) / 2; link.my = (link.a.y + link.b.y) / 2;
      }
      st.dirty = true;
    }

    /* ---------------------------------------------------------------- hover, highlight */
    function highlight(target) {
      const prev = st.hover;
      if (prev === target) return;
      // the nodes ringed here; the links' highlight is drawn on the canvas (drawLinks reads st.hover)
      if (prev) {
        if (prev.el) prev.el.classList.remove("lv-d-hot");
        else { prev.a.el.classList.remove("lv-d-end"); prev.b.el.classList.remove("lv-d-end"); }
      }
      st.hover = target;
      if (target) {
        if (target.el) target.el.classList.add("lv-d-hot");
        else { target.a.el.classList.add("lv-d-end"); target.b.el.classList.add("lv-d-end"); }
      }
      st.dirty = true; ctx.invalidate();
    }

    function hoverable(node) {
      node.el.addEventListener("mouseenter", () => {
        nodeTitle(node);  // written when wanted, not with every frame (a frame then changes no element)
        highlight(node);
        ctx.setFocus(node.kind === "output" ? null : {layer: node.l, unit: node.u});
      });
      node.el.addEventListener("mouseleave", () => {
        if (st.hover === node) highlight(null);
        ctx.setFocus(null);
      });
    }

    function linkOf(ev) {
      const g = ev.target && ev.target.closest ? ev.target.closest("g.lv-d-link") : null;
      return g ? g.__link : null;
    }
    /* Client coordinates of an event, or of the link's middle for an event without a position. */
    function where(ev, link) {
      if (ev.clientX || ev.clientY) return [ev.clientX, ev.clientY];
      const r = stage.getBoundingClientRect();
      return [r.left + link.mx, r.top + link.my];
    }
    function showCard(link, ev) {
      const [x, y] = where(ev, link);
      st.cardAt = [x, y];
      card.show(x, y, linkText(link) + (st.frame.h.editable && !st.editing ? "\nclick to type a new value" : ""));
    }
    svg.addEventListener("mouseover", ev => {
      const link = linkOf(ev);
      if (!link || !st.frame) return;
      highlight(link);
      showCard(link, ev);
    });
    svg.addEventListener("mousemove", ev => {
      const link = linkOf(ev);
      if (link && st.hover === link) showCard(link, ev);
    });
    svg.addEventListener("mouseout", ev => {
      const link = linkOf(ev);
      if (!link) return;
      const to = ev.relatedTarget && ev.relatedTarget.closest ? ev.relatedTarget.closest("g.lv-d-link") : null;
      if (to === link.g) return;
      if (st.hover === link) highlight(null);
      card.hide();
    });
    svg.addEventListener("click", ev => {
      const link = linkOf(ev);
      if (link && st.frame && st.frame.h.editable) openEdit(link, ev);
    });

    /* ---------------------------------------------------------------- typing a weight */
    function openEdit(link, ev) {
      closeEdit();
      st.editing = link;
      const [cx, cy] = where(ev, link);
      const r = stage.getBoundingClientRect();
      editLabel.textContent = `${unitName(link.l, link.i)} → ${unitName(link.l + 1, link.j)}`;
      editMsg.textContent = "Enter applies, Escape cancels";
      editMsg.classList.remove("lv-d-bad");
      st.editText = LV.fmt(weightOf(link));
      input.value = st.editText;
      edit.hidden = false;
      const w = edit.offsetWidth, hgt = edit.offsetHeight;
      let x = cx - r.left - w / 2, y = cy - r.top - hgt - 12;
      if (y < 2) y = cy - r.top + 14;
      x = Math.max(2, Math.min(x, r.width - w - 2));
      edit.style.left = x + "px"; edit.style.top = Math.min(y, st.SH - hgt - 2) + "px";
      st.dirty = true; ctx.invalidate();  // drawn dashed (drawLinks reads st.editing)
      card.hide();
      input.focus(); input.select();
    }
    function closeEdit() {
      if (st.editing) { st.dirty = true; ctx.invalidate(); }
      st.editing = null;
      edit.hidden = true;
    }
    input.addEventListener("keydown", ev => {
      if (ev.key === "Escape") { ev.preventDefault(); closeEdit(); return; }
      if (ev.key !== "Enter") return;
      ev.preventDefault();
      const link = st.editing;
      if (!link) return;
      const text = input.value.trim().replace(/^[−–]/, "-").replace(/^([+-]?\d*),(\d+)$/, "$1.$2");
      if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) || !Number.isFinite(Number(text))) {
        editMsg.textContent = "type a number, e.g. 0.5 or -1.2e-2";
        editMsg.classList.add("lv-d-bad");
        input.select();
        return;
      }
      if (input.value.trim() !== st.editText) ctx.emit("edit", {layer: link.l, from: link.i, to: link.j, value: Number(text)});
      closeEdit();
    });
    input.addEventListener("input", () => { editMsg.classList.remove("lv-d-bad"); editMsg.textContent = "Enter applies, Escape cancels"; });
    input.addEventListener("blur", () => { setTimeout(() => { if (document.activeElement !== input && ctx.root.getRootNode().activeElement !== input) closeEdit(); }, 0); });

    /* ---------------------------------------------------------------- frame data */
    function collect(frame) {
      const h = frame.h, a = frame.a, net = h.network, L = net.sizes.length;
      const T = h.plane ? h.plane.thumb : 0;
      const to = {W: [], b: [], th: [], out: null, cls: null, conf: null, T, R: 0};
      for (let l = 0; l < L - 1; l++) {
        const W = a["W_" + l], b = a["b_" + l];
        to.W.push(W && W.length === net.shown[l] * net.shown[l + 1] ? W : new Float32Array(net.shown[l] * net.shown[l + 1]));
        to.b.push(b && b.length === net.shown[l + 1] ? b : new Float32Array(net.shown[l + 1]));
      }
      for (let l = 0; l < L - 1; l++) {
        const th = a["thumb_" + l];
        to.th.push(T && th && th.length === net.shown[l] * T * T ? th : null);
      }
      const R = h.plane ? h.plane.res : 0;
      to.R = R;
      if (R && a.boundary && a.boundary.length === R * R) to.out = a.boundary;
      if (R && a.boundary_class && a.boundary_conf && a.boundary_class.length === R * R) {
        to.cls = a.boundary_class; to.conf = a.boundary_conf;
      }
      to.maxW = diagram_max(to.W);
      to.maxB = Math.max(to.maxW, diagram_max(to.b));
      return to;
    }
    function copy(to) {
      const f32 = x => x ? Float32Array.from(x) : null;
      return {W: to.W.map(f32), b: to.b.map(f32), th: to.th.map(f32), out: f32(to.out), maxW: to.maxW, maxB: to.maxB};
    }
    function compatible(f, to) {
      if (!f) return false;
      const same = (x, y) => (!x && !y) || (x && y && x.length === y.length);
      return f.W.length === to.W.length && f.W.every((x, k) => same(x, to.W[k])) && f.th.every((x, k) => same(x, to.th[k]))
        && same(f.out, to.out);
    }

    /* A node's tooltip: its name and bias in the frame shown. */
    function nodeTitle(node) {
      if (node.kind === "input" || !st.to) return;
      const b = st.to.b[node.l - 1][node.u];
      const text = `${unitName(node.l, node.u)}\nbias ${LV.fmt(b)}` + (node.kind === "neuron" ? "\n(hover: shown large on the plane)" : "");
      if (node.el.title !== text) node.el.title = text;
    }

    function texts(h) {
      const net = h.network, L = net.sizes.length, d = h.diverging || {};
      LV.text(summary, `${L - 2} hidden layer${L - 2 === 1 ? "" : "s"}`);
      LV.text(activation, `activation: ${net.activation}`);
      const pos = d.pos || "#4e79a7", neg = d.neg || "#f28e2b";
      if (pos !== st.pos) swPos.style.background = pos;
      if (neg !== st.neg) swNeg.style.background = neg;
      const L2 = L - 2;
      LV.text(more, (h.plane && L2 > 0 ? ` · pictures: each neuron's output over the plane (−${LV.fmt(net.neuron_scale)} … +${LV.fmt(net.neuron_scale)})` : "")
        + " · bar at a neuron's left = its bias"
        + (h.editable ? ` · ${h.plane && L2 > 0 ? "hover a neuron to see it large, " : ""}click a link to type its weight` : ""));
      if (st.hover && st.hover.el) nodeTitle(st.hover);
      const lutKey = [d.neg, d.zero, d.pos, (h.colours || []).join(","), h.task].join("|");
      if (lutKey !== st.lutKey) {
        st.lutKey = lutKey;
        st.luts.div = diagram_lut(i => LV.diverging(h, (i - 128) / 127));
        const c0 = LV.mix(LV.classRGB(h, 0), diagram_WHITE, 0.22), c1 = LV.mix(LV.classRGB(h, 1), diagram_WHITE, 0.22);
        st.luts.out = h.task === "regression" ? diagram_lut(i => LV.mix(LV.valueRGB(h, i), diagram_WHITE, 0.2))
          : diagram_lut(i => i < 128 ? LV.mix(c0, diagram_WHITE, i / 127.5) : LV.mix(diagram_WHITE, c1, (i - 127.5) / 127.5));
        st.luts.cls = (h.classes || []).map((_, k) => { const c = LV.classRGB(h, k); return diagram_lut(i => LV.mix(diagram_WHITE, c, 0.25 + 0.75 * i / 255)); });
      }
      st.pos = pos; st.neg = neg;
    }

    /* ---------------------------------------------------------------- drawing */
    /* Draw into node's box of the pictures' canvas (its rounded corners), in the box's own coordinates. */
    function inBox(node, paint) {
      const c = node.cv, g = wires.g;
      g.save();
      g.beginPath(); g.roundRect(c.x, c.y, c.w, c.h, 5); g.clip();
      g.translate(c.x, c.y);
      try { paint(g, c.w, c.h); } finally { g.restore(); }
    }
    function blit(node, atlas, top, n) {
      inBox(node, (g, w, hh) => {
        g.imageSmoothingEnabled = true; g.imageSmoothingQuality = "low";  // bilinear: smooth, and cheap
        g.drawImage(atlas.el, 1, top, n, n, 0, 0, w, hh);
      });
    }
    /* A neuron's bias: a bar along its left edge, its height by |b| (of the largest shown), its colour by sign,
       ringed in white; drawn on the canvas, so a frame changes no element. */
    function biasBar(node, r, col) {
      const c = node.cv, g = wires.g, x = c.x + diagram_BIAS_X, hh = c.h * r, y = c.y + (c.h - hh) / 2;
      g.fillStyle = "#ffffff";
      g.beginPath(); g.roundRect(x - 1, y - 1, diagram_BIAS_W + 2, hh + 2, 3); g.fill();
      g.fillStyle = col;
      g.beginPath(); g.roundRect(x, y, diagram_BIAS_W, hh, 2); g.fill();
    }
    /* A node without a picture (no 2-D plane): a light square; a neuron shows its activation's shape. */
    function blank(node) {
      inBox(node, (g, w, hh) => activationShape(node, g, w, hh));
    }
    function activationShape(node, g, w, hh) {
      g.fillStyle = "#f3f4f7"; g.fillRect(0, 0, w, hh);
      if (node.kind !== "neuron") return;
      const act = String(st.frame.h.network.activation || "").toLowerCase();
      const fn = act.includes("relu") || act === "gelu" || act === "elu" ? (x => Math.max(act.includes("leaky") ? 0.1 * x : 0, x))
        : act === "linear" || act === "identity" ? (x => x) : act === "sigmoid" ? (x => 2 / (1 + Math.exp(-3 * x)) - 1)
        : Math.tanh;
      g.beginPath();
      for (let k = 0; k <= 24; k++) {
        const x = -1.6 + 3.2 * k / 24, y = Math.max(-1.2, Math.min(1.2, fn(x)));
        const px = w * (0.15 + 0.7 * k / 24), py = hh * (0.5 - 0.32 * y);
        if (k) g.lineTo(px, py); else g.moveTo(px, py);
      }
      g.strokeStyle = "#a3a5b1"; g.lineWidth = 1.3; g.stroke();
    }

    /* The links at easing time te: width by |w| (of the largest shown), colour by sign; while a node or link is
       hovered the others fade and its own show fully; the one being typed into is dashed. Links of one look
       are stroked together. */
    function drawLinks(te) {
      const to = st.to, from = st.from, g = wires.g;
      g.clearRect(0, 0, wires.w, wires.h);
      const maxW = from.maxW + (to.maxW - from.maxW) * te, inv = maxW > 0 ? 1 / maxW : 0;
      const hover = st.hover, hot = hover ? new Set(hover.links ? hover.links : [hover]) : null;
      const groups = new Map();
      for (const link of st.links) {
        const f = from.W[link.l][link.k], w = f + (to.W[link.l][link.k] - f) * te;
        const r = Math.min(1, Math.abs(w) * inv);
        const sw = Math.round((0.5 + 4.5 * r) * 10) / 10;
        const op = link === st.editing || (hot && hot.has(link)) ? 1 : hot ? 0.1
          : Math.round((0.35 + 0.6 * Math.sqrt(r)) * 50) / 50;
        const key = `${w >= 0 ? 1 : 0}|${sw}|${op}|${link === st.editing ? 1 : 0}`;
        let group = groups.get(key);
        if (!group) groups.set(key, group = {col: w >= 0 ? st.pos : st.neg, sw, op, dash: link === st.editing, links: []});
        group.links.push(link);
      }
      g.lineCap = "round";
      for (const group of groups.values()) {
        g.beginPath();
        for (const k of group.links) {
          const y1 = k.a.y, y2 = k.b.y;
          g.moveTo(k.x1, y1); g.bezierCurveTo(k.mx, y1, k.mx, y2, k.x2, y2);
        }
        g.strokeStyle = group.col; g.globalAlpha = group.op; g.lineWidth = group.sw;
        g.setLineDash(group.dash ? [4, 3] : []);
        g.stroke();
      }
      g.globalAlpha = 1; g.setLineDash([]);
    }

    function draw(te) {
      const to = st.to, from = st.from, h = st.frame.h;
      drawLinks(te);
      // pictures and biases: every picture goes into one atlas, handed to the canvas once (one copy per frame,
      // not one per node), and each node's box is drawn from its tile
      const T = to.T, R = to.R, maxB = from.maxB + (to.maxB - from.maxB) * te, invB = maxB > 0 ? 1 / maxB : 0;
      const outs = st.cols[st.cols.length - 1], jobs = [];
      for (const node of st.nodes) {
        if (!node.cv) continue;
        if (node.kind === "output") {
          if (to.cls && R && h.task === "multiclass") {
            const lut = st.luts.cls[node.u] || st.luts.out, cls = to.cls, conf = to.conf, u = node.u;
            jobs.push({node, n: R, paint(px, base, stride) {
              for (let row = 0; row < R; row++) {
                let src = (R - 1 - row) * R, o = base + row * stride;
                for (let col = 0; col < R; col++, src++, o++) px[o] = lut[cls[src] === u ? conf[src] : 0];
              }
            }});
          } else if (to.out && R && outs.length === 1) {
            jobs.push({node, n: R, paint: (px, base, stride) =>
              diagram_paint(px, te < 1 ? from.out : null, to.out, 0, te, R, st.luts.out, base, stride)});
          } else jobs.push({node, n: 0});
        } else {
          const th = to.th[node.l];
          jobs.push(th && T ? {node, n: T, paint: (px, base, stride) =>
            diagram_paint(px, te < 1 ? from.th[node.l] : null, th, node.u * T * T, te, T, st.luts.div, base, stride)}
            : {node, n: 0});
        }
      }
      const atlas = diagram_atlas(st, jobs.map(j => j.n));
      jobs.forEach((j, k) => {
        if (!j.n) return;
        const base = atlas.tops[k] * atlas.W + 1;
        j.paint(atlas.px, base, atlas.W);
        diagram_gutter(atlas.px, base, j.n, atlas.W);
      });
      if (atlas.el) atlas.g.putImageData(atlas.img, 0, 0);
      jobs.forEach((j, k) => {
        const node = j.node;
        if (j.n) blit(node, atlas, atlas.tops[k], j.n); else blank(node);
        if (node.kind === "neuron") {  // its bias bar (an output's bias is in its tooltip)
          const f = from.b[node.l - 1][node.u], b = f + (to.b[node.l - 1][node.u] - f) * te;
          biasBar(node, Math.max(0.06, Math.min(1, Math.abs(b) * invB)), b >= 0 ? st.pos : st.neg);
        }
      });
    }

    return {
      update(frame) {
        const h = frame.h;
        host.hidden = !h.network;
        if (!h.network) return;
        const key = diagram_key(h);
        st.frame = frame;
        const to = collect(frame);
        if (key !== st.key) { st.key = key; build(h); st.from = null; }
        if (st.from && st.to && compatible(st.from, to)) {
          // ease from what is on screen now (an animation may have been cut short by this frame)
          const t = st.te, f = st.from, o = st.to;
          f.W.forEach((x, k) => diagram_blend(x, o.W[k], t));
          f.b.forEach((x, k) => diagram_blend(x, o.b[k], t));
          f.th.forEach((x, k) => { if (x) diagram_blend(x, o.th[k], t); });
          if (f.out) diagram_blend(f.out, o.out, t);
          f.maxW += (o.maxW - f.maxW) * t; f.maxB += (o.maxB - f.maxB) * t;
          st.te = 0;
        } else {
          st.from = copy(to);
          st.te = 1;
        }
        st.to = to;
        texts(h);
        st.dirty = true;
        if (st.hover && !st.hover.el && st.cardAt && !st.editing) {
          card.show(st.cardAt[0], st.cardAt[1], linkText(st.hover) + (h.editable ? "\nclick to type a new value" : ""));
        }
      },
      render(t) {
        if (!st.frame || !st.frame.h.network || !st.to) return;
        // the width comes from a ResizeObserver: reading it here would force a layout in every animation frame
        if (!st.Wseen) st.Wseen = Math.round(ctx.widthOf(host) || ctx.width());
        const W = st.Wseen;
        if (W > 0 && W !== st.W) layout(W);
        const dpr = Math.max(1, window.devicePixelRatio || 1);
        const te = t >= 1 ? 1 : LV.ease(t);
        if (!st.dirty && te === st.te && dpr === st.dpr) return;
        st.dirty = false; st.te = te; st.dpr = dpr;
        draw(te);
      },
      destroy() { card.hide(); closeEdit(); if (st.ro) st.ro.disconnect(); },
    };
  },
};
