// sbsr_lab classroom app: a drawing pad that sends strokes to the server, and the answer drawn here.
// No library and nothing from the internet: the chart and the gauge are SVG, the 3D view a canvas.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const DEBOUNCE_MS = 150;        // after a stroke ends: a quick next stroke restarts the wait
  const PAD_REF = 360;            // the brush is in px on a 360 px pad (the notebook pad's unit)
  const STATUS_EVERY_MS = 5000;   // once ready, the status is asked for this often (the badge says "offline")
  const NOT_A_SHAPE = "(not a shape)";  // history.NOT_A_SHAPE: the class stored for a drawing not recognised

  const app = {
    status: null, ready: false, model: null, models: [], k: 8,
    strokes: [], current: null, brush: 6, drawing: newDrawingId(),
    seq: 0, shownSeq: 0, inFlight: false, again: false, timer: null, lastResult: null,
    sigmaMax: 0.1, sigmaRecent: [], replay: null, selected: null, mesh: null, yaw: 0.6, pitch: 0.35,
  };
  window.sbsrApp = app;           // for tests and the curious
  app.article = article;

  function newDrawingId() {
    const a = new Uint8Array(8);
    crypto.getRandomValues(a);
    return "d" + Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function article(word) { return /^[aeiou]/i.test(word || "") ? "an" : "a"; }
  function pct(p) { return (100 * p).toFixed(p >= 0.995 || p < 0.005 ? 0 : (p < 0.1 ? 1 : 0)) + "%"; }
  function user() { return ($("user").value || "").trim() || "guest"; }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function message(text, error) {
    const m = $("message");
    m.textContent = text;
    m.classList.toggle("error", !!error);
  }

  // -- server ----------------------------------------------------------------------------------------
  async function api(path, body) {
    const opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const resp = await fetch(path, opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = { error: "The server sent something unexpected." }; }
    return { ok: resp.ok, status: resp.status, data, retry: Number(resp.headers.get("Retry-After") || 1) };
  }

  async function pollStatus() {
    let r;
    try { r = await api("/api/status"); } catch (e) { r = null; }
    if (!r || !r.ok) {
      if (app.ready) setStatus("offline", "offline: the server does not answer");
      else setStatus("error", r && r.data ? r.data.error : "The server does not answer.");
      setTimeout(pollStatus, 2000);
      return;
    }
    const st = r.data;
    if (app.ready && st.state === "ready") setStatus("ready", "ready");  // back after being offline
    app.status = st;
    app.k = st.k;
    if (st.state === "loading") {
      setStatus("loading", "loading the model…");
      setTimeout(pollStatus, 300);
      return;
    }
    if (st.state === "error") {
      setStatus("error", "the model could not be loaded");
      message(st.message, true);
      $("pad-note").textContent = "The model could not be loaded.";
      return;
    }
    setModels(st);
    if (!app.ready) {
      app.ready = true;
      setStatus("ready", "ready");
      $("pad-note").textContent = app.strokes.length ? "" : "draw here";
      $("history-path").textContent = st.history ? "(saved in " + st.history_path + ")" : (st.history_error || "(this server keeps no history)");
      if (app.strokes.length) scheduleQuery(0);
      refreshHistory();
    }
    // the other methods are still loading: soon; else every few seconds, so that the badge says when the
    // server stops answering (and "ready" again when it is back)
    setTimeout(pollStatus, st.loading_more ? 1000 : STATUS_EVERY_MS);
  }

  function setStatus(kind, text) {
    const s = $("status");
    s.className = "pill " + kind;
    s.textContent = text;
  }

  function setModels(st) {
    const box = $("model");
    const keys = st.models.map((m) => m.key);
    if (keys.join() === app.models.map((m) => m.key).join()) return;
    app.models = st.models;
    const keep = app.model && keys.includes(app.model) ? app.model : st.default;
    box.textContent = "";
    for (const m of st.models) box.appendChild(el("option", { value: m.key }, m.label));
    box.value = keep;
    app.model = keep;
    box.disabled = false;
  }

  // -- the pad ---------------------------------------------------------------------------------------
  const pad = $("pad");
  const ctx = pad.getContext("2d");

  function fitPad() {
    const r = pad.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    pad.width = Math.max(1, Math.round(r.width * dpr));
    pad.height = Math.max(1, Math.round(r.height * dpr));
    redraw();
  }

  function redraw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, pad.width, pad.height);
    ctx.strokeStyle = "#111";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = Math.max(1, app.brush * pad.width / PAD_REF);
    const all = app.current ? app.strokes.concat([app.current]) : app.strokes;
    for (const s of all) drawStroke(s);
  }

  function drawStroke(s) {
    if (!s.length) return;
    ctx.beginPath();
    ctx.moveTo(s[0][0] * pad.width, s[0][1] * pad.height);
    if (s.length === 1) ctx.lineTo(s[0][0] * pad.width + 0.01, s[0][1] * pad.height);
    for (let i = 1; i < s.length; i++) ctx.lineTo(s[i][0] * pad.width, s[i][1] * pad.height);
    ctx.stroke();
  }

  function point(ev) {
    const r = pad.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width));
    const y = Math.min(1, Math.max(0, (ev.clientY - r.top) / r.height));
    return [Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4];
  }

  pad.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0 && ev.pointerType === "mouse") return;
    ev.preventDefault();
    try { pad.setPointerCapture(ev.pointerId); } catch (e) { /* a pointer that is already gone */ }
    clearTimeout(app.timer);
    leaveReplay();
    app.current = [point(ev)];
    $("pad-note").textContent = "";
    redraw();
  });
  pad.addEventListener("pointermove", (ev) => {
    if (!app.current) return;
    const events = ev.getCoalescedEvents ? ev.getCoalescedEvents() : [ev];
    for (const e of (events.length ? events : [ev])) app.current.push(point(e));
    redraw();
  });
  function endStroke(ev) {
    if (!app.current) return;
    if (ev && ev.type !== "pointercancel") app.current.push(point(ev));
    app.strokes.push(app.current);
    app.current = null;
    redraw();
    scheduleQuery(DEBOUNCE_MS);
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);

  $("undo").addEventListener("click", () => {
    app.strokes.pop();
    redraw();
    if (app.strokes.length) scheduleQuery(0);
    else showEmpty();
  });
  $("clear").addEventListener("click", () => {
    app.strokes = [];
    app.current = null;
    app.drawing = newDrawingId();    // a new drawing: the next query makes a new history entry
    app.replay = null;
    $("replay-note").textContent = "";
    redraw();
    showEmpty();
  });
  function leaveReplay() {
    if (!app.replay) return;
    app.replay = null;                       // changing a replayed drawing makes a new drawing
    app.drawing = newDrawingId();
    $("replay-note").textContent = "";
  }
  $("brush").addEventListener("change", () => {
    leaveReplay();
    app.brush = Number($("brush").value);
    redraw();
    if (app.strokes.length) scheduleQuery(0);   // the pen width belongs to the whole drawing
  });
  $("model").addEventListener("change", () => {
    leaveReplay();
    app.model = $("model").value;
    if (app.strokes.length) scheduleQuery(0);
  });
  $("user").addEventListener("change", () => {
    try { localStorage.setItem("sbsr_user", user()); } catch (e) { /* private mode */ }
    app.drawing = newDrawingId();
    refreshHistory();
  });

  function showEmpty() {
    clearTimeout(app.timer);
    app.queued = false;
    app.seq += 1;
    app.lastResult = null;
    $("pad-note").textContent = "draw here";
    message("The canvas is empty: draw something first (a chair, a house, a lamp…).");
    renderEmpty(app.seq);
  }

  // -- queries ---------------------------------------------------------------------------------------
  function scheduleQuery(ms) {
    clearTimeout(app.timer);
    app.queued = true;
    app.timer = setTimeout(runQuery, ms);
  }

  async function runQuery() {
    app.queued = false;
    if (!app.ready) { message("loading the model… your drawing is searched as soon as it is ready."); return; }
    if (app.inFlight) { app.again = true; return; }       // one request at a time per page: the latest wins
    if (!app.strokes.length) { showEmpty(); return; }
    app.inFlight = true;
    const seq = ++app.seq;
    const body = { strokes: app.strokes, brush: app.brush, model: app.model, k: app.k, user: user(),
                   drawing: app.drawing, record: !app.replay };
    const t0 = performance.now();
    let r;
    try { r = await api("/api/query", body); } catch (e) { r = { ok: false, status: 0, data: { error: "The server does not answer: is `sbsr-lab app` still running?" } }; }
    app.inFlight = false;
    const ms = performance.now() - t0;
    if (r.status === 503) {                                // busy or still loading: try again shortly
      message(r.data.error || "The server is busy: trying again in a moment.");
      scheduleQuery(1000 * Math.min(5, r.retry || 1));
      return;
    }
    if (app.again) { app.again = false; scheduleQuery(0); }
    if (seq !== app.seq) return;                          // the canvas was cleared meanwhile
    if (!r.ok) { message(r.data.error || "The query failed.", true); renderEmpty(seq); return; }
    if (r.data.problem) { message(r.data.problem); renderEmpty(seq); return; }
    app.lastResult = r.data;
    app.lastMs = ms;
    render(r.data, seq, ms);
    if (app.replay) checkReplay(r.data);
    else refreshHistorySoon();
  }

  // -- the answer ------------------------------------------------------------------------------------
  function render(res, seq, ms) {
    const top = res.predicted_class;
    const p = (res.probabilities.find((cp) => cp[0] === top) || [top, 0])[1];
    const unknown = res.unknown === true;
    const verdict = $("verdict");
    // unsure (top class below 60 %, as QueryResult.runner_up): the runner-up is named too
    const ranked = res.probabilities.slice().sort((a, b) => b[1] - a[1]);
    const maybe = !unknown && p < 0.6 && ranked.length > 1 ?
      `, or maybe ${article(ranked[1][0])} ${ranked[1][0]} (${pct(ranked[1][1])})` : "";
    verdict.textContent = unknown ? `Not sure what this is (best guess: ${article(top)} ${top}, ${pct(p)}).` :
      `Looks like ${article(top)} ${top} (${pct(p)})${maybe}.`;
    verdict.dataset.seq = seq;
    verdict.dataset.cls = top;
    $("unknown").hidden = !unknown;
    const sigma = res.uncertainty == null ? "" : `, uncertainty σ = ${res.uncertainty.toFixed(3)}`;
    message(unknown ? "The drawing is unlike every class this model knows: try drawing one of them." :
      `Looks like ${article(top)} ${top} (${pct(p)})${maybe}${sigma}.`);
    $("timing").textContent = `answered in ${Math.round(ms)} ms (server ${Math.round(res.server_ms)} ms, ${res.method})`;
    renderChart(res.probabilities, seq, unknown);
    renderGauge(res.uncertainty, res.method, seq, false, unknown);
    renderResults(res, seq);
    app.shownSeq = seq;
  }

  function renderEmpty(seq) {
    $("verdict").textContent = "No drawing yet.";
    $("verdict").dataset.seq = seq;
    delete $("verdict").dataset.cls;
    $("unknown").hidden = true;
    $("timing").textContent = "";
    renderChart([], seq, false);
    renderGauge(null, null, seq, true);
    const box = $("results");
    box.textContent = "";
    box.appendChild(el("p", { class: "note" }, "Draw something: the closest shapes of the collection show here."));
    box.dataset.seq = seq;
    app.shownSeq = seq;
    app.mesh = null;                          // nothing selected any more
    app.selected = null;
    delete $("view3d").dataset.shape;
    $("view-title").textContent = "click a result";
    $("view-note").textContent = "";
    draw3d();
  }

  function renderChart(probs, seq, dim) {
    const svg = $("chart-svg");
    svg.textContent = "";
    app.chartArgs = [probs, seq, dim];          // drawn again at the new width when the window changes
    const W = Math.max(220, Math.round(svg.clientWidth || 400)), rowH = 21, labelW = 92, n = probs.length || 1;
    const H = Math.max(40, n * rowH + 6);
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);   // one unit = one CSS pixel: the labels keep their size
    svg.style.height = H + "px";
    svg.classList.toggle("dim", !!dim);
    if (!probs.length) {
      svg.appendChild(svgEl("text", { x: 8, y: 24, fill: "#8792a2", "font-size": 14 }, "no query yet"));
    }
    probs.forEach(([cls, p], i) => {
      const y = 3 + i * rowH;
      const w = Math.max(1, p * (W - labelW - 48));
      const g = svgEl("g", { class: "bar", "data-class": cls, "data-p": p.toFixed(4) });
      g.appendChild(svgEl("text", { x: labelW - 6, y: y + 14, "text-anchor": "end", "font-size": 13, fill: "#1d2430" }, cls));
      g.appendChild(svgEl("rect", { x: labelW, y: y + 2, width: w, height: rowH - 6, rx: 2, fill: i === 0 ? "#2f6db0" : "#8fb3dc" }));
      g.appendChild(svgEl("text", { x: labelW + w + 5, y: y + 14, "font-size": 12, fill: "#3c4655" }, pct(p)));
      svg.appendChild(g);
    });
    $("chart").dataset.seq = seq;
    $("chart").dataset.top = probs.length ? probs[0][0] : "";
  }

  function arc(cx, cy, r, a0, a1) {       // angles in radians, 0 = left end of the half circle
    const p = (a) => [cx - r * Math.cos(a), cy - r * Math.sin(a)];
    const [x0, y0] = p(a0), [x1, y1] = p(a1);
    return `M ${x0.toFixed(2)} ${y0.toFixed(2)} A ${r} ${r} 0 0 1 ${x1.toFixed(2)} ${y1.toFixed(2)}`;
  }

  // The gauge's scale follows the last few answers the model recognised (x1.25 of the largest σ among them
  // and this one): one scribble's huge σ must not leave every later σ as an empty arc.
  function gaugeScale(sigma, unknown) {
    if (!unknown) app.sigmaRecent = app.sigmaRecent.concat([sigma]).slice(-5);
    return Math.max(0.05, 1.25 * Math.max(sigma, ...app.sigmaRecent));
  }

  function renderGauge(sigma, method, seq, empty, unknown) {
    const svg = $("gauge-svg");
    svg.textContent = "";
    const cx = 110, cy = 110, r = 88;
    svg.appendChild(svgEl("path", { d: arc(cx, cy, r, 0, Math.PI), stroke: "#e3e8ef", "stroke-width": 18, fill: "none" }));
    let note = "";
    if (sigma != null) {
      app.sigmaMax = gaugeScale(sigma, unknown);
      const f = Math.min(1, sigma / app.sigmaMax);
      svg.appendChild(svgEl("path", { d: arc(cx, cy, r, 0, Math.max(0.001, f * Math.PI)), stroke: "#e45756", "stroke-width": 18, fill: "none", class: "gauge-value" }));
      svg.appendChild(svgEl("text", { x: cx, y: cy - 10, "text-anchor": "middle", "font-size": 26, fill: "#1d2430", class: "gauge-number" }, "σ = " + sigma.toFixed(3)));
      svg.appendChild(svgEl("text", { x: cx - r, y: cy + 16, "text-anchor": "middle", "font-size": 11, fill: "#5b6573" }, "0"));
      svg.appendChild(svgEl("text", { x: cx + r, y: cy + 16, "text-anchor": "middle", "font-size": 11, fill: "#5b6573" }, app.sigmaMax.toFixed(2)));
      note = "σ rises when a drawing is noisy or ambiguous (within the classes the model knows).";
    } else {
      svg.appendChild(svgEl("text", { x: cx, y: cy - 14, "text-anchor": "middle", "font-size": 15, fill: "#8792a2", class: "gauge-number" },
        empty ? "no query yet" : "n/a"));
      if (!empty) note = `${method} has no uncertainty estimate: pick UACTN to see σ.`;
    }
    $("gauge-note").textContent = note;
    $("gauge").dataset.seq = seq;
    $("gauge").dataset.sigma = sigma == null ? "" : sigma.toFixed(4);
  }

  function renderResults(res, seq) {
    const box = $("results");
    box.textContent = "";
    for (const r of res.results) {
      const card = el("div", { class: "result", "data-rank": r.rank, "data-class": r.class, "data-id": r.id, tabindex: "0",
                               title: `${r.id}: click for the 3D view` });
      const img = el("img", { alt: `${r.class} ${r.id}`, src: r.thumb, width: "96", height: "96" });
      card.appendChild(img);
      card.appendChild(el("div", { class: "cls" }, `#${r.rank} ${r.class}`));
      card.appendChild(el("div", { class: "score" }, `similarity ${r.score.toFixed(3)}`));
      if (r.best_view) {   // the rendered view of this shape closest to the sketch: the side it was drawn from
        const best = el("div", { class: "best", title: "the rendered view of this shape that matches your drawing best" });
        best.appendChild(el("img", { alt: `view ${r.view + 1} of ${r.id}`, src: r.best_view, width: "48", height: "48" }));
        best.appendChild(el("span", {}, `drawn from view ${r.view + 1}`));
        card.appendChild(best);
      }
      card.addEventListener("click", () => select(res.method, r, card));
      card.addEventListener("keydown", (e) => { if (e.key === "Enter") select(res.method, r, card); });
      box.appendChild(card);
    }
    box.dataset.seq = seq;
    if (!res.has_meshes) {
      $("view-note").textContent = "This model's bundle has no 3D meshes, so there is no 3D view: the thumbnails are its rendered views.";
      $("view-title").textContent = "not available";
      app.mesh = null;
      draw3d();
    } else if (res.results.length) {
      const first = box.firstChild;
      select(res.method, res.results[0], first);
    }
  }

  // -- 3D view: flat-shaded triangles, painter's order, drag to turn --------------------------------
  const view = $("view3d");
  const vctx = view.getContext("2d");

  async function select(method, r, card) {
    for (const c of document.querySelectorAll(".result.selected")) c.classList.remove("selected");
    if (card) card.classList.add("selected");
    app.selected = r.id;
    $("view-title").textContent = `${r.class} ${r.id}`;
    if (!r.mesh) return;
    const key = method + "/" + r.id;
    $("view-note").textContent = "";
    const resp = await api("/api/mesh/" + encodeURIComponent(method) + "/" + encodeURIComponent(r.id));
    if (app.selected !== r.id) return;
    if (!resp.ok) {
      app.mesh = null;
      $("view-note").textContent = resp.data.error || "No 3D mesh for this shape.";
      draw3d();
      return;
    }
    app.mesh = { key, v: resp.data.vertices, f: resp.data.faces };
    $("view3d").dataset.shape = r.id;
    $("view3d").dataset.seq = app.seq;
    $("view-note").textContent = "drag to turn the shape";
    draw3d();
  }

  function draw3d() {
    const r = view.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    view.width = Math.max(1, Math.round(r.width * dpr));
    view.height = Math.max(1, Math.round(r.height * dpr));
    vctx.clearRect(0, 0, view.width, view.height);
    const m = app.mesh;
    if (!m) return;
    paintMesh(vctx, m.v, m.f, app.yaw, app.pitch, 0.44 * Math.min(view.width, view.height), view.width / 2,
              view.height / 2);                // widgets/web/mesh_paint.js, shared with the notebook's view
  }

  let drag = null;
  view.addEventListener("pointerdown", (ev) => {
    drag = [ev.clientX, ev.clientY];
    try { view.setPointerCapture(ev.pointerId); } catch (e) { /* a pointer that is already gone */ }
  });
  view.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    app.yaw += (ev.clientX - drag[0]) * 0.01;
    app.pitch = Math.max(-1.5, Math.min(1.5, app.pitch + (ev.clientY - drag[1]) * 0.01));
    drag = [ev.clientX, ev.clientY];
    draw3d();
  });
  view.addEventListener("pointerup", () => { drag = null; });
  view.addEventListener("pointercancel", () => { drag = null; });

  // -- history and replay ----------------------------------------------------------------------------
  let historyTimer = null;
  function refreshHistorySoon() { clearTimeout(historyTimer); historyTimer = setTimeout(refreshHistory, 400); }

  async function refreshHistory() {
    if (!app.status || !app.status.history) return;
    // the server knows this browser by its own cookie: the list is this browser's drawings whatever the
    // name typed (the name is only a label, here the export's file name)
    $("export").href = "/api/history/export?user=" + encodeURIComponent(user());
    const r = await api("/api/history");
    const list = $("history");
    list.textContent = "";
    if (!r.ok) { list.appendChild(el("li", {}, r.data.error || "The history could not be read.")); return; }
    if (!r.data.entries.length) list.appendChild(el("li", { class: "none" }, "No drawings yet: each drawing you make is kept here (one entry per drawing)."));
    const count = r.data.entries.length;
    r.data.entries.forEach((e, i) => {
      const li = el("li", { "data-id": e.id, "data-class": e.predicted_class || "" });
      li.appendChild(miniature(e.strokes, e.brush));
      const when = drawnAt(e);
      const guess = e.predicted_class === NOT_A_SHAPE ? "not a shape" :
        e.predicted_class ? `${article(e.predicted_class)} ${e.predicted_class}` : "?";
      // numbered 1, 2, 3... in the order this learner drew them (the database ids are shared by everyone)
      li.appendChild(el("span", {}, `#${count - i} ${when} · ${guess} · ${e.model} · ${e.queries} ${e.queries === 1 ? "query" : "queries"}`));
      const b = el("button", { type: "button", class: "replay", "data-id": e.id }, "Replay");
      b.addEventListener("click", () => replay(e.id));
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // entries are named by their time (the list numbers them per learner; database ids are everyone's)
  function drawnAt(e) { return e.created_at.replace("T", " ").slice(11, 19); }

  function miniature(strokes, brush) {
    const c = el("canvas", { width: "88", height: "88" });
    const x = c.getContext("2d");
    x.lineCap = "round"; x.lineJoin = "round"; x.strokeStyle = "#111";
    x.lineWidth = Math.max(1, brush * 88 / PAD_REF);
    for (const s of strokes) {
      x.beginPath();
      s.forEach(([px, py], i) => (i ? x.lineTo(px * 88, py * 88) : x.moveTo(px * 88, py * 88)));
      x.stroke();
    }
    return c;
  }

  async function replay(id) {
    const r = await api("/api/history/" + id);
    if (!r.ok) { $("replay-note").textContent = r.data.error || "This drawing could not be read."; return; }
    const e = r.data;
    if (!app.models.some((m) => m.key === e.model)) {
      $("replay-note").textContent = `The drawing of ${drawnAt(e)} was made with ${e.model}, which this server does not offer.`;
      return;
    }
    clearTimeout(app.timer);
    app.replay = e;
    app.strokes = e.strokes;                 // exactly the recorded strokes, pen width and model
    app.brush = e.brush;
    const opt = Array.from($("brush").options).find((o) => Number(o.value) === e.brush);
    if (!opt) $("brush").appendChild(el("option", { value: String(e.brush) }, `${e.brush} px`));
    $("brush").value = String(e.brush);
    app.model = e.model;
    $("model").value = e.model;
    $("pad-note").textContent = "";
    redraw();
    $("replay-note").textContent = `Replaying the drawing of ${drawnAt(e)}…`;
    scheduleQuery(0);
  }

  function checkReplay(res) {
    const e = app.replay;
    const same = res.results.length === e.results.length &&
      res.results.every((r, i) => r.id === e.results[i].id && Math.abs(r.score - e.results[i].score) < 1e-5);
    const note = $("replay-note");
    note.dataset.replayed = e.id;
    note.dataset.same = same ? "yes" : "no";
    note.textContent = same ? `Replayed the drawing of ${drawnAt(e)} (${e.model}, pen ${e.brush}): the same ${e.results.length} shapes and scores as recorded.`
      : `Replayed the drawing of ${drawnAt(e)}: the answer differs from the recorded one (the model changed since?).`;
  }

  // -- start -----------------------------------------------------------------------------------------
  try { $("user").value = localStorage.getItem("sbsr_user") || ""; } catch (e) { /* private mode */ }
  if (location.search.includes("token=")) history.replaceState(null, "", location.pathname);  // the cookie holds it now
  window.addEventListener("resize", () => { fitPad(); draw3d(); if (app.chartArgs) renderChart(...app.chartArgs); });
  fitPad();
  renderEmpty(0);
  pollStatus();
})();
