/* The live view's core: frame decoding, shared drawing helpers (LV), the panel registry (PANELS), the layout,
   the easing loop, resizing and devicePixelRatio handling. The other asset files are joined after this one into
   one ES module and register their panels in PANELS. */

const PANELS = {};

const core_ORDER = ["diagram", "boundary", "curves", "histograms", "hidden"];
const core_ROWS = [["diagram", "boundary"], ["curves"], ["histograms", "hidden"]];
const core_DTYPES = {uint8: Uint8Array, uint16: Uint16Array, float32: Float32Array, int32: Int32Array};
const core_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const core_hexCache = new Map();
const core_canvases = new Set();   // every LV.canvas, for devicePixelRatio changes
const core_instances = new Set();  // every mounted view
const core_states = new WeakMap(); // parentElement -> view state

function core_dpr() { return Math.max(1, window.devicePixelRatio || 1); }

/* One array of the binary section as a typed array (copied only when misaligned or big-endian). */
function core_view(bytes, base, spec) {
  const Type = core_DTYPES[spec.dtype];
  if (!Type) throw new Error(`unknown dtype ${spec.dtype}`);
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const start = base + spec.offset, size = Type.BYTES_PER_ELEMENT;
  if (start + count * size > bytes.byteLength) throw new Error("frame is shorter than its header says");
  const at = bytes.byteOffset + start;
  if (core_LITTLE && at % size === 0) return new Type(bytes.buffer, at, count);
  const dv = new DataView(bytes.buffer, at, count * size), out = new Type(count);
  const get = {uint8: "getUint8", uint16: "getUint16", float32: "getFloat32", int32: "getInt32"}[spec.dtype];
  for (let i = 0; i < count; i++) out[i] = dv[get](i * size, true);
  return out;
}

const LV = {
  /* {h: header, a: {name: TypedArray}, s: {name: shape}} of a frame (Uint8Array, ArrayBuffer or DataView). */
  decode(data) {
    let bytes;
    if (data instanceof Uint8Array) bytes = data;
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (Array.isArray(data)) bytes = Uint8Array.from(data);
    else throw new Error("the live view expects a binary frame");
    if (bytes.byteLength < 8 || bytes[0] !== 78 || bytes[1] !== 78 || bytes[2] !== 76 || bytes[3] !== 86)
      throw new Error("not a live-view frame (no NNLV mark)");
    const size = bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24);
    let text = new TextDecoder().decode(bytes.subarray(8, 8 + size));
    text = text.replace(/\0+$/, "");
    const h = JSON.parse(text), a = {}, s = {};
    const base = 8 + size;
    for (const [name, spec] of Object.entries(h.arrays || {})) {
      a[name] = core_view(bytes, base, spec);
      s[name] = spec.shape.slice();
    }
    return {h, a, s};
  },
  /* The whole frame of one that the frame socket sent after `prev` (its header's "base": prev's id): arrays
     named in "same" are prev's, an array whose entry has "from": k is prev's first k rows and the rows sent
     (ui/liveview/payload.py: changes). */
  rebase(frame, prev) {
    const h = frame.h, a = Object.assign({}, frame.a), s = Object.assign({}, frame.s);
    if (!prev || prev.h.id !== h.base) throw new Error("live view: a frame built on a frame this view does not have");
    for (const name of h.same || []) {
      if (!(name in prev.a)) throw new Error(`live view: no array ${name} to keep`);
      a[name] = prev.a[name]; s[name] = prev.s[name];
    }
    for (const [name, spec] of Object.entries(h.arrays || {})) {
      const k = spec.from;
      if (!k) continue;
      const old = prev.a[name], tail = frame.a[name], rest = spec.shape.slice(1);
      const row = rest.reduce((x, y) => x * y, 1);
      if (!old || old.constructor !== tail.constructor || prev.s[name].slice(1).join() !== rest.join() ||
          old.length < k * row) throw new Error(`live view: array ${name} does not continue the frame before`);
      const whole = new tail.constructor(k * row + tail.length);
      whole.set(old.subarray(0, k * row));
      whole.set(tail, k * row);
      a[name] = whole; s[name] = [k + spec.shape[0], ...rest];
    }
    return {h, a, s};
  },
  lerp(a, b, t) { return a + (b - a) * t; },
  ease(t) { t = Math.min(1, Math.max(0, t)); return t * t * (3 - 2 * t); },

  /* A canvas whose backing store is cssW·dpr × cssH·dpr; g is scaled by dpr (draw in CSS pixels). */
  canvas(host, cssW, cssH, testid) {
    const el = document.createElement("canvas");
    if (testid) el.setAttribute("data-testid", testid);
    el.className = "lv-canvas";
    const c = {el, g: el.getContext("2d"), w: 0, h: 0, dpr: 0,
      resize(w, h) {
        w = Math.max(1, Math.round(w)); h = Math.max(1, Math.round(h));
        const dpr = core_dpr();
        if (w === c.w && h === c.h && dpr === c.dpr) return c;
        c.w = w; c.h = h; c.dpr = dpr;
        el.width = Math.round(w * dpr); el.height = Math.round(h * dpr);
        el.style.width = w + "px"; el.style.height = h + "px";
        c.g.setTransform(dpr, 0, 0, dpr, 0, 0);
        return c;
      }};
    c.resize(cssW, cssH);
    if (host) host.appendChild(el);
    core_canvases.add(c);
    return c;
  },

  hex(c) {
    if (Array.isArray(c)) return c;
    let v = core_hexCache.get(c);
    if (v) return v;
    let s = String(c || "#000").trim().replace(/^#/, "");
    if (s.length === 3) s = s.split("").map(ch => ch + ch).join("");
    const n = parseInt(s.slice(0, 6), 16);
    v = Number.isFinite(n) ? [(n >> 16) & 255, (n >> 8) & 255, n & 255] : [0, 0, 0];
    core_hexCache.set(c, v);
    return v;
  },
  mix(c1, c2, t) {
    const a = LV.hex(c1), b = LV.hex(c2);
    return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t].map(Math.round);
  },
  diverging(header, v) {
    const d = (header && header.diverging) || {neg: "#f28e2b", zero: "#f7f7f7", pos: "#4e79a7"};
    v = Number.isFinite(v) ? Math.max(-1, Math.min(1, v)) : 0;
    return v < 0 ? LV.mix(d.zero, d.neg, -v) : LV.mix(d.zero, d.pos, v);
  },
  classRGB(header, k) {
    const cs = (header && header.colours && header.colours.length) ? header.colours : ["#4e79a7", "#f28e2b"];
    return LV.hex(cs[((k | 0) % cs.length + cs.length) % cs.length]);
  },
  /* Regression colour of a value quantized on boundary.range (0..255): low end → light → high end. */
  valueRGB(header, u8) {
    const cs = (header && header.colours) || [];
    const lo = cs[0] || "#4e79a7", hi = cs[1] || "#f28e2b", mid = "#f7f7f7";
    const t = Math.max(0, Math.min(255, u8)) / 255;
    return t < 0.5 ? LV.mix(lo, mid, t * 2) : LV.mix(mid, hi, t * 2 - 1);
  },
  fmt(v, digits = 3) {
    if (typeof v !== "number") v = Number(v);
    if (!Number.isFinite(v)) return Number.isNaN(v) ? "–" : (v > 0 ? "∞" : "−∞");
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e-3 && a < 1e5) return a >= Math.pow(10, digits) ? String(Math.round(v)) : v.toPrecision(digits);
    return v.toExponential(Math.max(0, digits - 1)).replace("e+", "e");
  },
  /* Writes that change an element only where the value differs: the same value written again still has the
     browser recompute styles and layout (and hit-test the page under the mouse), at every frame. */
  text(el, text) { text = String(text); if (el.textContent !== text) el.textContent = text; },
  toggle(el, cls, on) { on = !!on; if (el.classList.contains(cls) !== on) el.classList.toggle(cls, on); },
  show(el, on) { on = !!on; if (el.hidden === on) el.hidden = !on; },
  css(el, prop, value) { if (el.style[prop] !== value) el.style[prop] = value; },
  /* A new element: attrs {class, text (textContent), testid, anything else as an attribute}. */
  el(tag, attrs, parent) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = String(v);
      else if (k === "testid") e.setAttribute("data-testid", v);
      else if (k === "value" && "value" in e) { e.value = String(v); e.setAttribute("value", String(v)); }
      else if (k === "checked" && "checked" in e) { e.checked = !!v; e.setAttribute("checked", ""); }
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    if (parent) parent.appendChild(e);
    return e;
  },
  /* The floating hover card of a view: {show(clientX, clientY, text), hide()}; testid names it while shown. */
  card(ctx, testid = "card") {
    const root = ctx.root;
    let el = root.__lvCard;
    if (!el) {
      el = root.__lvCard = LV.el("div", {class: "lv-card", role: "tooltip"}, root);
      el.hidden = true;
    }
    return {
      el,
      show(x, y, text) {
        el.setAttribute("data-testid", testid);
        el.textContent = String(text);
        el.hidden = false;
        const r = root.getBoundingClientRect();
        const w = el.offsetWidth, h = el.offsetHeight;
        let left = x - r.left + 14, top = y - r.top + 14;
        if (left + w > root.clientWidth - 2) left = Math.max(2, x - r.left - w - 10);
        if (top + h > root.clientHeight - 2) top = Math.max(2, y - r.top - h - 10);
        el.style.left = left + "px"; el.style.top = top + "px";
      },
      hide() { el.hidden = true; },
    };
  },
};

/* ------------------------------------------------------------------------------------------- one view */

function core_build(parent) {
  const root = LV.el("div", {class: "lv-root", testid: "live-view", "data-frame": "0"}, parent);
  const status = LV.el("div", {class: "lv-status", testid: "live-status"}, root);
  status.hidden = true;
  const cells = {};
  for (const names of core_ROWS) {
    const row = LV.el("div", {class: "lv-row lv-row-" + names.join("-")}, root);
    for (const name of names) {
      const cell = LV.el("div", {class: "lv-cell lv-cell-" + name}, row);
      cell.hidden = true;
      cells[name] = {cell, row};
    }
  }
  const st = {
    parent, root, status, cells, panels: {}, frame: null, prev: null, lastId: null, lastData: null, count: 0,
    t: 1, t0: 0, dur: 250, lastArrival: 0, raf: 0, dirty: new Set(), focus: null, shared: {},
    component: null, width: 0, dprSeen: core_dpr(), destroyed: false, fresh: new Set(), waiting: 0,
    lastSrc: null, feedUrl: null, feeding: false, failedUrl: null, arrived: 0, drawMs: 0,
  };
  st.schedule = () => { if (!st.raf && !st.destroyed) st.raf = requestAnimationFrame(now => core_tick(st, now)); };
  if (typeof ResizeObserver !== "undefined") {
    // the device-pixel box also changes with devicePixelRatio (browser zoom, moving to another screen)
    st.ro = new ResizeObserver(() => {
      const w = root.clientWidth, dpr = core_dpr();
      if (dpr !== st.dprSeen) { st.dprSeen = dpr; st.width = w; core_resizeCanvases(); return; }
      if (w !== st.width) { st.width = w; core_invalidateAll(st); }
    });
    try { st.ro.observe(root, {box: "device-pixel-content-box"}); } catch (e) { st.ro.observe(root); }
  }
  // elements' widths as the panels' layouts read them, kept up to date by a ResizeObserver: reading clientWidth
  // while drawing would have the browser lay the page out again at every frame (a frame's text just changed)
  st.widths = new Map();
  if (typeof ResizeObserver !== "undefined") {
    st.wro = new ResizeObserver(entries => {
      let changed = false;
      for (const e of entries) {
        const w = e.target.clientWidth;
        if (st.widths.get(e.target) !== w) { st.widths.set(e.target, w); changed = true; }
      }
      if (changed) core_invalidateAll(st);
    });
  }
  core_instances.add(st);
  core_watchDpr();
  return st;
}

function core_ctx(st, name) {
  const ctx = {
    root: st.root,
    shared: st.shared,
    get focus() { return st.focus; },
    emit(event, value) {
      const f = st.frame;
      if (!st.component || typeof st.component.setTriggerValue !== "function") return;
      if (event !== "hidden_layer" && !(f && f.h.editable)) return;
      st.component.setTriggerValue(event, value);
    },
    invalidate() { st.dirty.add(name); st.schedule(); },
    /* el's clientWidth, read once and then kept by a ResizeObserver (a change redraws every panel). */
    widthOf(el) {
      if (!st.wro) return el.clientWidth;
      if (!st.widths.has(el)) { st.widths.set(el, el.clientWidth); st.wro.observe(el); }
      return st.widths.get(el);
    },
    width() { return ctx.widthOf(st.root) || (st.parent.host ? st.parent.host.clientWidth : 0) || 700; },
    frame() { return st.frame; },
    setFocus(f) {
      const same = (a, b) => (a === b) || (a && b && a.layer === b.layer && a.unit === b.unit);
      if (same(f || null, st.focus)) return;
      st.focus = f ? {layer: f.layer, unit: f.unit} : null;
      core_invalidateAll(st);
    },
  };
  return ctx;
}

function core_fail(st, name, where, err) {
  const p = st.panels[name];
  const msg = `${name} panel: ${where} failed: ${err && err.message ? err.message : err}`;
  if (p && p.lastError !== msg) { console.error(msg, err); p.lastError = msg; p.errWhere = where; }
  if (p) { p.err.textContent = msg; p.err.hidden = false; }
}

function core_ok(st, name, where) {
  const p = st.panels[name];
  if (p && p.lastError && (where === "update" || p.errWhere === where)) { p.lastError = null; p.err.hidden = true; p.err.textContent = ""; }
}

function core_panel(st, name) {
  if (st.panels[name]) return st.panels[name];
  const spec = PANELS[name];
  if (!spec || typeof spec.create !== "function") return null;
  const {cell} = st.cells[name];
  const host = LV.el("div", {class: `lv-panel lv-${name}`}, cell);
  const err = LV.el("div", {class: "lv-error", role: "alert"}, cell);
  err.hidden = true;
  const p = st.panels[name] = {name, host, err, impl: null, lastError: null, ok: false};
  try {
    p.impl = spec.create(host, core_ctx(st, name)) || {};
    p.ok = true;
  } catch (e) { core_fail(st, name, "create", e); }
  return p;
}

function core_render(st, name, t) {
  const p = st.panels[name];
  if (!p || !p.ok || !p.impl || typeof p.impl.render !== "function" || !p.fed) return;
  if (st.cells[name].cell.hidden) return;
  try { p.impl.render(t); core_ok(st, name, "drawing"); } catch (e) { core_fail(st, name, "drawing", e); }
}

function core_invalidateAll(st) {
  for (const n of Object.keys(st.panels)) st.dirty.add(n);
  st.schedule();
}

const core_EASE_FROM_MS = 90;  // frames further apart than this are eased into ...
const core_EASE_BUDGET = 0.25; // ... when easing's redraws take at most this share of the time between frames

function core_tick(st, now) {
  st.raf = 0;
  if (st.destroyed) return;
  const dpr = core_dpr();
  if (dpr !== st.dprSeen) { st.dprSeen = dpr; core_resizeCanvases(); }
  const animating = st.t < 1, began = performance.now();
  // (the animation frame's time can precede the arrival of the frame being eased into: no step back)
  if (animating) st.t = Math.min(1, Math.max(0, now - st.t0) / st.dur);
  const names = animating ? Object.keys(st.panels) : [...st.dirty];
  st.dirty.clear();
  let wait = Infinity;
  for (const n of names) {
    // a panel with a minimum interval (charts over epochs) draws new frames at most that often; the last
    // frame is drawn once the interval is over, and hover redraws are never held back
    const p = st.panels[n], gap = p && p.impl && p.impl.minInterval || 0;
    if (gap && st.fresh.has(n) && st.t >= 1 && now - (p.drawnAt || 0) < gap) {
      st.dirty.add(n);
      wait = Math.min(wait, gap - (now - (p.drawnAt || 0)));
      continue;
    }
    if (st.fresh.delete(n) && p) p.drawnAt = now;
    core_render(st, n, st.t);
  }
  // a panel held back is drawn with the next data frame once its interval is over; only when no next frame is on
  // its way (not fed) does a timer draw it: an extra page update costs the browser more than the panel itself
  if (wait < Infinity && !st.waiting && !st.feeding) {
    st.waiting = setTimeout(() => { st.waiting = 0; st.schedule(); }, Math.ceil(wait));
  }
  // what a redraw of every panel costs (easing redraws them all at the display's rate)
  if (animating) st.redrawMs = st.redrawMs ? 0.8 * st.redrawMs + 0.2 * (performance.now() - began) : performance.now() - began;
  if (st.arrived) { st.drawMs = performance.now() - st.arrived; st.arrived = 0; }
  if (st.t < 1) st.schedule();
}

/* The run's status line of this frame (the fast path's frames carry it, so that it describes the picture
   drawn): its first part (the state) in bold, as text; none: hidden. */
function core_status(st, text) {
  if (typeof text !== "string" || !text) {
    if (st.statusText) { st.status.replaceChildren(); st.statusNodes = null; st.status.hidden = true; st.statusText = ""; }
    return;
  }
  if (text === st.statusText) return;
  st.statusText = text;
  const cut = text.indexOf(" | ");
  const head = cut < 0 ? text : text.slice(0, cut), tail = cut < 0 ? "" : text.slice(cut);
  // the line's two text nodes are kept and only their text changes from frame to frame
  if (!st.statusNodes) {
    const b = document.createElement("b"), t1 = document.createTextNode(""), t2 = document.createTextNode("");
    b.appendChild(t1);
    st.statusNodes = [t1, t2];
    st.status.replaceChildren(b, t2);
  }
  const [t1, t2] = st.statusNodes;
  if (t1.data !== head) t1.data = head;
  if (t2.data !== tail) t2.data = tail;
  LV.show(st.status, true);
}

/* A new data frame: update the panels, start easing from the previous one. */
function core_apply(st, frame) {
  const h = frame.h;
  const prev = st.frame;
  st.prev = prev; st.frame = frame;
  if (h.id !== st.lastId) {
    st.lastId = h.id;
    st.count++;
    st.root.setAttribute("data-frame", String(st.count));
    if (Number.isFinite(h.step)) st.root.setAttribute("data-step", String(h.step));  // the run's step it shows
  }
  core_status(st, h.status);
  LV.toggle(st.root, "lv-editable", h.editable);
  const shown = new Set((h.panels || []).filter(n => core_ORDER.includes(n)));
  for (const names of core_ROWS) {
    let any = false;
    for (const n of names) {
      const on = shown.has(n) && !!PANELS[n];
      LV.show(st.cells[n].cell, on);
      any = any || on;
    }
    LV.show(st.cells[names[0]].row, any);
  }
  const now = performance.now();
  const interval = st.lastArrival ? now - st.lastArrival : 0;
  st.lastArrival = now;
  // Frames that come slower than ~11 a second are eased into (the motion stays continuous between them);
  // faster ones are drawn once each, which already moves smoothly and costs a third of easing's redraws.
  // Easing redraws about every 16 ms; where that would take more than EASE_BUDGET of the browser's time (a slow
  // machine, which then also needs its time for the frames) the frame is drawn once instead.
  const affordable = !st.redrawMs || st.redrawMs <= core_EASE_BUDGET * 16.7;
  st.dur = prev && interval > core_EASE_FROM_MS && affordable ? Math.min(250, 0.9 * interval) : 1;
  st.t0 = now;
  st.t = prev && st.dur > 1 ? 0 : 1;  // drawn once (not eased): one redraw, at the new frame
  for (const n of core_ORDER) {
    if (!shown.has(n)) continue;
    const p = core_panel(st, n);
    if (!p || !p.ok) continue;
    try {
      if (typeof p.impl.update === "function") p.impl.update(frame, p.fed ? prev : null);
      p.fed = true;
      core_ok(st, n, "update");
    } catch (e) { p.fed = true; core_fail(st, n, "update", e); }
    st.fresh.add(n);
  }
  core_invalidateAll(st);
  core_feed(st, frame);
}

/* Whether a frame is news: frames of one source (a browser session) are drawn only when newer than the last one
   drawn (the fast path's and the script's frames can arrive out of order); frames without a source (the
   harness) whenever their id changes. */
function core_accept(st, frame) {
  if (frame.h.src === undefined) return frame.h.id !== st.lastId;
  return frame.h.src !== st.lastSrc || !(frame.h.id <= st.lastId);
}

/* A frame of a playing run that names a feed (ui/liveview/fast.py): ask the feed's socket for the next frames,
   one request at a time, each sent as soon as the previous frame arrived (the server trains while the browser
   draws). Any answer but a frame of a playing run ends the loop and has the script run the view's fragment
   again, which says why (paused, finished, out of time, the server busy); an address that failed is not asked
   again. */
function core_feed(st, frame) {
  const url = frame.h.playing && typeof frame.h.feed === "string" && frame.h.feed ? frame.h.feed : null;
  st.feedUrl = url && url !== st.failedUrl ? url : null;
  if (st.feedUrl && !st.feeding) core_poll(st);
}

/* A feed's WebSocket: ask(d) sends one request (d: the last frame's drawing time, ms) and resolves with
   [status, frame bytes] (a frame: 200 and its bytes, gunzipped; else the status the server gave, and null); a
   socket that fails or closes rejects what it still owes. */
function core_socket(url) {
  const address = new URL(url, location.href);
  address.protocol = address.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(address.href);
  ws.binaryType = "arraybuffer";
  const owed = [];
  const opened = new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onclose = () => {
      reject(new Error("live view: the frame socket closed"));
      for (const o of owed.splice(0)) o.reject(new Error("live view: the frame socket closed"));
    };
  });
  opened.catch(() => {});
  ws.onmessage = e => {
    const o = owed.shift();
    if (!o) return;
    if (typeof e.data === "string") o.resolve([parseInt(e.data, 10) || 500, null]);
    // (a Response of the bytes themselves, not of a Blob: a Blob is registered with the browser process,
    // ~1.4 ms of the page's time per frame)
    else o.resolve(new Response(new Response(e.data).body.pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer().then(body => [200, body]));
  };
  return {
    ask: d => opened.then(() => new Promise((resolve, reject) => { owed.push({resolve, reject}); ws.send("d=" + d); })),
    close: () => { ws.onclose = null; ws.close(); for (const o of owed.splice(0)) o.reject(new Error("closed")); },
  };
}

async function core_poll(st) {
  st.feeding = true;
  let why = null, next = null, socket = null, socketUrl = null, last = null;
  // d: how long the last frame took from its arrival to being drawn; the server trains about that long
  const ask = url => {
    if (socketUrl !== url) { if (socket) socket.close(); socket = core_socket(url); socketUrl = url; last = null; }
    return socket.ask(Math.round(st.drawMs || 0));
  };
  try {
    while (st.feedUrl && !st.destroyed) {
      const url = st.feedUrl;
      let status, body;
      try { [status, body] = await (next || ask(url)); } catch (e) { why = "error"; st.failedUrl = url; break; }
      next = null;
      if (url !== st.feedUrl) continue;  // the script sent a newer frame meanwhile (paused, another run)
      if (status !== 200) {
        why = status === 404 ? "gone" : "stopped";
        if (status === 404) st.failedUrl = url;
        break;
      }
      let frame = LV.decode(new Uint8Array(body));
      if (frame.h.base !== undefined) {  // only what changed since the frame before on this socket
        try { frame = LV.rebase(frame, last); } catch (e) { console.error(e); why = "stopped"; break; }
      }
      last = frame;
      st.arrived = performance.now();
      if (frame.h.playing) next = ask(url);  // asked before this frame is drawn
      if (core_accept(st, frame)) { st.lastSrc = frame.h.src; core_apply(st, frame); }
      if (!frame.h.playing) { why = "stopped"; break; }
    }
  } catch (e) { console.error("live view: frame feed", e); why = "error"; st.failedUrl = st.feedUrl; }
  if (next) next.catch(() => {});  // owed by a socket closed below
  if (socket) socket.close();
  st.feeding = false;
  st.schedule();  // panels held back for their interval are drawn on a timer from now on
  if (!why) return;
  st.feedUrl = null;
  if (!st.destroyed && st.component && typeof st.component.setTriggerValue === "function")
    st.component.setTriggerValue("feed", {why});
}

function core_destroy(st) {
  if (st.destroyed) return;
  st.destroyed = true;
  if (st.raf) cancelAnimationFrame(st.raf);
  if (st.ro) st.ro.disconnect();
  if (st.wro) st.wro.disconnect();
  for (const p of Object.values(st.panels)) {
    try { if (p.impl && typeof p.impl.destroy === "function") p.impl.destroy(); } catch (e) { console.error(e); }
  }
  for (const c of [...core_canvases]) if (st.root.contains(c.el)) core_canvases.delete(c);
  core_instances.delete(st);
  st.root.remove();
  core_states.delete(st.parent);
}

function core_resizeCanvases() {
  for (const c of [...core_canvases]) {
    if (!c.el.isConnected) { core_canvases.delete(c); continue; }
    c.resize(c.w, c.h);
  }
  for (const st of core_instances) core_invalidateAll(st);
}

let core_dprQuery = null;
function core_watchDpr() {
  if (core_dprQuery || typeof matchMedia !== "function") return;
  const arm = () => {
    core_dprQuery = matchMedia(`(resolution: ${core_dpr()}dppx)`);
    core_dprQuery.addEventListener("change", () => { core_resizeCanvases(); arm(); }, {once: true});
  };
  arm();
  const check = () => {
    let changed = false;
    for (const st of core_instances) if (st.dprSeen !== core_dpr()) { st.dprSeen = core_dpr(); changed = true; }
    if (changed) core_resizeCanvases();
  };
  window.addEventListener("resize", check);
  // media-query and resize events do not fire for every kind of ratio change: a cheap check once a second
  setInterval(check, 1000);
}

/* The page's sidebar as a layer of its own (once per document). Every redraw of the view's canvases has the
   browser work out the page's compositing layers again, and the sidebar's many widgets, painted after the
   view's canvases, made that ~6-8 ms per redraw on this Streamlit page (measured in Chromium: Layerize), most
   of a frame's page work; as one layer it costs ~0.5 ms. */
const core_PAGE_CSS = 'section[data-testid="stSidebar"] { will-change: transform; }';
function core_pageLayers() {
  if (typeof document === "undefined" || !document.head || document.getElementById("nnplay-live-view-page")) return;
  const style = document.createElement("style");
  style.id = "nnplay-live-view-page";
  style.textContent = core_PAGE_CSS;
  document.head.appendChild(style);
}

function core_connected(parent) {
  const node = parent && (parent.host || parent);
  return !!(node && node.isConnected);
}

export default function (component) {
  const parent = component.parentElement;
  let st = core_states.get(parent);
  if (!st || st.destroyed) { st = core_build(parent); core_states.set(parent, st); core_pageLayers(); }
  st.component = component;
  const data = component.data;
  if (data != null && data !== st.lastData) {
    st.lastData = data;
    try {
      const frame = LV.decode(data);
      if (frame.h.keep) { if (!st.feeding) core_feed(st, frame); }  // only: keep asking the feed
      else if (core_accept(st, frame) || !st.frame) { st.lastSrc = frame.h.src; core_apply(st, frame); }
    } catch (e) {
      console.error("live view: bad frame", e);
      core_status(st, `live view: cannot read this frame (${e.message || e})`);
    }
  }
  // Streamlit calls the cleanup when the next data arrives as well as on unmount: tear down only when the
  // element has really left the page.
  return () => { setTimeout(() => { if (!core_connected(parent)) core_destroy(st); }, 500); };
}
