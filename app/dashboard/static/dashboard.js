// Batchery dashboard: plain JS, no build step, no CDN. Every value comes from the /v1 API with the user's key.
"use strict";

const ACTIVE = new Set(["QUEUED", "PROCESSING"]);
const FINISHED = new Set(["COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"]);
const MAX_LIVE_STREAMS = 4;  // under the server's per-key cap on open event streams
const auth = { key: sessionStorage.getItem("batchery.key") || "", namespace: sessionStorage.getItem("batchery.ns") || "" };
let leaving = new AbortController();  // aborted when the view changes: its streams and timers stop

// ---- DOM and HTTP ---------------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  // Text goes in as text nodes, never as HTML: filenames and names are user data.
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (auth.key) h["Authorization"] = "Bearer " + auth.key;
  if (auth.namespace) h["X-Namespace"] = auth.namespace;
  return h;
}

function notice(text) {
  const box = document.getElementById("notice");
  box.textContent = text || "";
  box.hidden = !text;
}

async function api(path, options) {
  const opts = Object.assign({}, options || {});
  opts.headers = headers(opts.headers);
  const response = await fetch(path, opts);
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) throw new Error("This server needs an API key: enter it above.");
  if (!response.ok) throw new Error((body && body.error && body.error.message) || response.statusText);
  return body;
}

async function streamEvents(batchId, onMessage, signal) {
  // EventSource cannot send an API key, so the stream is read with fetch (same SSE wire format).
  const response = await fetch(`/v1/batches/${encodeURIComponent(batchId)}/events`,
                               { headers: headers({ Accept: "text/event-stream" }), signal });
  if (!response.ok || !response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const message = {};
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon > 0) message[line.slice(0, colon)] = line.slice(colon + 1).trim();
      }
      if (message.data) onMessage(message.event || "message", JSON.parse(message.data));
    }
  }
}

// ---- pieces ---------------------------------------------------------------------------------------------

function bar(batch) {
  const percent = batch.progress ? batch.progress.percent : 0;
  const kind = batch.status === "COMPLETED" ? "done" : (batch.status === "FAILED" || batch.status === "CANCELLED") ? "bad" : "";
  const node = el("div", { class: `bar ${kind}`, role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100",
                           "aria-valuenow": String(percent), "data-batch": batch.batch_id },
                  el("span", { style: `width:${percent}%` }));
  return node;
}

function number(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

// ---- views ----------------------------------------------------------------------------------------------

async function batchesView(view, signal) {
  const body = await api("/v1/batches?limit=50");
  const rows = body.batches.map((b) => el("tr", { "data-batch": b.batch_id },
    el("td", {}, el("a", { href: `#/batches/${b.batch_id}` }, b.batch_name || b.batch_id)),
    el("td", {}, b.collection_id),
    el("td", { class: "status" }, b.status),
    el("td", {}, bar(b)),
    el("td", { class: "muted message" }, b.status_message),
    el("td", { class: "muted" }, when(b.created_at))));
  view.replaceChildren(el("h1", {}, "Batches"),
    el("table", { id: "batches" }, el("tr", {}, ["Batch", "Collection", "Status", "Progress", "", "Created"].map((h) => el("th", {}, h))), rows));
  if (!body.batches.length) view.append(el("p", { class: "muted" }, "No batches yet."));
  for (const b of body.batches.filter((b) => ACTIVE.has(b.status)).slice(0, MAX_LIVE_STREAMS)) {
    streamEvents(b.batch_id, (type, data) => {
      if (type !== "progress") return;
      const row = view.querySelector(`tr[data-batch="${CSS.escape(b.batch_id)}"]`);
      if (!row) return;
      row.querySelector(".status").textContent = data.status;
      row.querySelector(".message").textContent = data.status_message;
      row.querySelector(".bar").replaceWith(bar(data));
    }, signal).catch(() => {});
  }
  // Batches that start later, or beyond the live ones, show up on the next refresh.
  setTimeout(() => { if (!signal.aborted) render(); }, 10000);
}

function rateChart(samples) {
  const width = 600, height = 90, max = Math.max(...samples.map((s) => s.rate), 1e-9);
  const t0 = samples.length ? samples[0].t : 0, span = Math.max((samples.at(-1) || { t: 1 }).t - t0, 1);
  const points = samples.map((s) => `${((s.t - t0) / span) * width},${height - 6 - (s.rate / max) * (height - 12)}`);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "rate");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points.join(" "));
  svg.append(line);
  return el("div", {}, svg, el("div", { class: "muted" }, `peak ${max.toPrecision(2)} items/s over ${Math.round(span / 1000)} s`));
}

function countCards(batch) {
  const p = batch.progress;
  const cards = [["total", p.total], ["processed", p.processed], ["succeeded", p.succeeded], ["skipped", p.skipped],
                 ["failed", p.failed], ["cancelled", p.cancelled], ["items/s", p.items_per_second], ["ETA (s)", p.eta_seconds]];
  return el("div", { class: "cards", id: "counts" },
    cards.map(([label, value]) => el("div", { class: "card", "data-count": label }, el("b", {}, number(value)), el("span", {}, label))));
}

async function errorsSection(batchId) {
  const body = await api(`/v1/batches/${encodeURIComponent(batchId)}/errors`);
  const types = Object.entries(body.by_type);
  return el("section", { id: "errors" }, el("h2", {}, `Errors by type (${number(body.total_errors)})`),
    types.length ? el("table", {}, el("tr", {}, el("th", {}, "Type"), el("th", {}, "Count"), el("th", {}, "First")),
      types.map(([type, items]) => el("tr", { "data-error-type": type }, el("td", {}, type), el("td", { class: "num" }, items.length),
        el("td", { class: "muted" }, `${items[0].filename}: ${items[0].message}`))))
      : el("p", { class: "muted" }, "No errors."));
}

async function resultsSection(batchId) {
  const table = el("table", { id: "results" },
    el("tr", {}, ["File", "Status", "Chunks", "Attempts", "Error"].map((h) => el("th", {}, h))));
  const more = el("button", { type: "button", hidden: "" }, "Load more");
  let cursor = null;
  async function page() {
    const query = new URLSearchParams({ limit: "50" });
    if (cursor) query.set("cursor", cursor);
    const body = await api(`/v1/batches/${encodeURIComponent(batchId)}/results?${query}`);
    for (const r of body.results) {
      table.append(el("tr", {}, el("td", {}, r.filename), el("td", { class: "status" }, r.status), el("td", { class: "num" }, number(r.chunks)),
        el("td", { class: "num" }, number(r.attempts)), el("td", { class: "muted" }, r.error ? `${r.error.type}: ${r.error.message}` : "")));
    }
    cursor = body.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => page().catch((e) => notice(e.message)));
  await page();
  return el("section", {}, el("h2", {}, "Results"), table, more);
}

const rateSamples = new Map();  // batch id → [{t, rate}], kept across redraws of the page

async function batchView(view, signal, batchId) {
  if (!rateSamples.has(batchId)) rateSamples.set(batchId, []);
  const samples = rateSamples.get(batchId);
  const head = el("div", {});
  const chart = el("section", {});
  const details = el("div", {});
  function show(batch) {
    const rate = batch.progress.items_per_second;
    if (rate !== null && !FINISHED.has(batch.status)) samples.push({ t: Date.now(), rate });
    head.replaceChildren(el("h1", {}, batch.batch_name || batch.batch_id),
      el("p", {}, el("span", { class: "status", id: "batch-status" }, batch.status), " · ",
        el("span", { class: "muted", id: "batch-message" }, batch.status_message)),
      bar(batch), countCards(batch));
    chart.replaceChildren(el("h2", {}, "Rate over time"),
      samples.length > 1 ? rateChart(samples) : el("p", { class: "muted" }, "Shown while the page watches a running batch."));
  }
  async function refresh() {
    const batch = await api(`/v1/batches/${encodeURIComponent(batchId)}`);
    show(batch);
    details.replaceChildren(await errorsSection(batchId), await resultsSection(batchId));
    return batch;
  }
  view.replaceChildren(el("p", {}, el("a", { href: "#/" }, "← all batches")), head, chart, details);
  let latest = await refresh();
  // Live: progress messages carry status and counters; when the stream ends (the batch finished, or the
  // server's time bound), the full view and the details are read again and, if still running, watched again.
  while (!FINISHED.has(latest.status) && !signal.aborted) {
    await streamEvents(batchId, (type, data) => {
      if (type !== "progress") return;
      latest = Object.assign({}, latest, { status: data.status, progress: data.progress, status_message: data.status_message });
      show(latest);
    }, signal).catch(() => {});
    if (!signal.aborted) latest = await refresh();
  }
}

async function searchView(view) {
  const collections = (await api("/v1/collections?limit=100")).collections;
  const choose = el("select", { id: "search-collection" }, collections.map((c) => el("option", { value: c.collection_id }, c.collection_id)));
  const query = el("input", { id: "search-query", type: "search", placeholder: "what are you looking for?", size: "40" });
  const mode = el("select", { id: "search-mode" }, ["hybrid", "lexical", "vector"].map((m) => el("option", { value: m }, m)));
  const hits = el("div", { id: "hits" });
  async function search(event) {
    event.preventDefault();
    if (!query.value.trim()) return;
    const payload = { query: query.value, top_k: 10 };
    if (mode.value !== "hybrid") payload.mode = mode.value;  // hybrid is the server's default
    const body = await api(`/v1/collections/${encodeURIComponent(choose.value)}/search`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
    hits.replaceChildren(el("p", { class: "muted" }, `${body.hits.length} hits${body.mode ? ` (${body.mode})` : ""}`),
      ...body.hits.map((h) => el("div", { class: "hit" },
        el("b", {}, h.filename), el("span", { class: "muted" }, ` · chunk ${h.chunk_index}${h.modality ? ` · ${h.modality}` : ""} · score ${Number(h.score).toFixed(3)}`),
        el("div", { class: "text" }, h.text || ""))));
  }
  const form = el("form", { id: "search", onsubmit: (e) => search(e).catch((err) => notice(err.message)) },
    choose, " ", query, " ", mode, " ", el("button", { type: "submit" }, "Search"));
  view.replaceChildren(el("h1", {}, "Search a collection"),
    collections.length ? form : el("p", { class: "muted" }, "No collections yet: they appear when a batch writes vectors."), hits);
}

// ---- routing --------------------------------------------------------------------------------------------

async function render() {
  leaving.abort();
  leaving = new AbortController();
  const view = document.getElementById("view");
  const route = location.hash.replace(/^#\/?/, "");
  notice("");
  try {
    if (route.startsWith("batches/")) await batchView(view, leaving.signal, decodeURIComponent(route.slice(8)));
    else if (route === "search") await searchView(view);
    else await batchesView(view, leaving.signal);
  } catch (error) {
    if (error.name !== "AbortError") notice(error.message);
  }
}

document.getElementById("auth-key").value = auth.key;
document.getElementById("auth-namespace").value = auth.namespace;
document.getElementById("auth").addEventListener("submit", (event) => {
  event.preventDefault();
  auth.key = document.getElementById("auth-key").value.trim();
  auth.namespace = document.getElementById("auth-namespace").value.trim();
  sessionStorage.setItem("batchery.key", auth.key);
  sessionStorage.setItem("batchery.ns", auth.namespace);
  notice("");
  render();
});
window.addEventListener("hashchange", render);
render();
