// sbsr_lab classroom app, the teacher view: every learner's name (a label), counts and latest answers.
// The server answers /api/class only with the teacher token (a cookie set by the teacher's address).
"use strict";

(function () {
  const REFRESH_MS = 5000;
  const NOT_A_SHAPE = "(not a shape)";
  const $ = (id) => document.getElementById(id);
  const view = { data: null };
  window.sbsrClass = view;          // for tests and the curious

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function size(bytes) { return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(2)} MB`; }
  function when(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : ""; }
  function setStatus(kind, text) { const s = $("class-status"); s.className = "pill " + kind; s.textContent = text; }

  function render(data) {
    const body = $("class").querySelector("tbody");
    body.textContent = "";
    $("caps").textContent = `Each learner keeps at most ${data.caps.entries} drawings and ${size(data.caps.bytes)} of strokes (the oldest go first).`;
    if (!data.learners.length) {
      const tr = el("tr", { class: "none" });
      tr.appendChild(el("td", { colspan: "6" }, "No drawings yet."));
      body.appendChild(tr);
    }
    for (const l of data.learners) {
      const tr = el("tr", { "data-learner": l.id, "data-kind": l.kind });
      tr.appendChild(el("td", { class: "id" }, l.kind === "browser" ? l.id : `${l.id} (${l.kind})`));
      const others = l.labels.filter((x) => x !== l.label);
      tr.appendChild(el("td", { class: "label" }, (l.label || "") + (others.length ? ` (also: ${others.join(", ")})` : "")));
      tr.appendChild(el("td", { class: "count" }, String(l.entries)));
      tr.appendChild(el("td", {}, size(l.bytes)));
      tr.appendChild(el("td", {}, when(l.last)));
      const answers = l.recent.map((a) => `${a.predicted_class === NOT_A_SHAPE ? "not a shape" : (a.predicted_class || "?")} (${a.model})`);
      tr.appendChild(el("td", { class: "answers" }, answers.join(", ")));
      body.appendChild(tr);
    }
  }

  async function refresh() {
    let resp = null, data = null;
    try {
      resp = await fetch("/api/class");
      data = await resp.json();
    } catch (e) { data = null; }
    if (!resp || !data) setStatus("offline", "offline: the server does not answer");
    else if (!resp.ok) setStatus("error", data.error || "refused");
    else {
      view.data = data;
      render(data);
      setStatus("ready", `${data.learners.length} learner${data.learners.length === 1 ? "" : "s"}`);
    }
    setTimeout(refresh, REFRESH_MS);
  }
  refresh();
})();
