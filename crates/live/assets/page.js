// The live page: the node's figures from /status once a second, the latest trades from a
// WebSocket on /stream. Plain JavaScript, no library. The fields are /status's (docs/live.md).
"use strict";

const POLL_MS = 1000;
const SPARK_POINTS = 60;
const BLOCK_ROWS = 8;
const TRADE_ROWS = 5;

const $ = (id) => document.getElementById(id);
// A count with thousands separators; "–" for a figure not known (null) or missing.
const fmt = (n) => (typeof n === "number" ? Math.round(n).toLocaleString("en-US") : "–");

function fmtRate(n) {
  if (typeof n !== "number") return "–";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return fmt(n);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// Replaces a table's or list's rows; `empty` is the row shown when there is none.
function fill(target, rows, empty) {
  $(target).replaceChildren(...(rows.length ? rows : [empty]));
}

function emptyRow(cols, text) {
  return el("tr", { class: "empty" }, el("td", { colspan: cols }, text));
}

function emptyItem() {
  return el("li", { class: "empty" }, "none");
}

// Present consumers first (failed ones at the top), then those that have finished or left.
const STATE_ORDER = { failed: 0, detached: 1, running: 2, finished: 3, left: 4 };

function renderConsumers(all) {
  const rank = (c) => STATE_ORDER[c.state] ?? 5;
  const consumers = all.map((c, i) => [c, i])
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1])
    .map((p) => p[0]);
  // The bars compare the consumers with each other: the largest lag fills its bar.
  const maxLag = Math.max(1, ...consumers.map((c) => c.lag));
  fill("consumers", consumers.map((c) => {
    const share = Math.min(1, c.lag / maxLag);
    const bar = el("div", { class: "fill" + (share > 0.5 ? " high" : ""), style: `width:${(share * 100).toFixed(1)}%` });
    return el("tr", { "data-consumer": c.name },
      el("td", { class: "text name", title: c.name }, c.name),
      el("td", { class: "text kind" }, c.kind),
      el("td", { class: "text" }, el("span", { class: "badge " + c.state }, c.state)),
      el("td", {}, el("div", { class: "lag" }, el("span", {}, fmt(c.lag)), el("div", { class: "bar" }, bar))),
      el("td", {}, fmt(c.handled)),
      el("td", {}, fmt(c.skipped)),
      el("td", {}, fmt(c.detaches)),
      el("td", {}, fmt(c.missed)));
  }), emptyRow(8, "no consumer"));
  const running = consumers.filter((c) => c.state === "running").length;
  $("consumer-note").textContent = `${consumers.length} consumers on the bus, ${running} running`;
}

// Newest first, as /status lists them.
function renderBlocks(blocks) {
  const latest = blocks.slice(0, BLOCK_ROWS);
  fill("blocks", latest.map((b) => el("tr", {},
    el("td", { class: "text" }, fmt(b.height)),
    el("td", {}, fmt(b.events)),
    el("td", {}, fmt(b.transactions)))), emptyRow(3, "no block yet"));
  const top = latest[0];
  $("height").textContent = top ? fmt(top.height) : "–";
  $("height-note").textContent = top
    ? `${fmt(top.events)} events · ${fmt(top.transactions)} transactions`
    : "no block yet";
}

// A name and a figure (a forwarder's error in its place, if it failed).
function renderPairs(target, items, figure) {
  fill(target, items.map((s) => el("tr", {},
    el("td", { class: "text name" }, s.name),
    s.error ? el("td", { class: "error", title: s.error }, s.error) : el("td", {}, fmt(figure(s))))),
  emptyRow(2, "none"));
}

// A detach or failure: who, and what happened.
function logItem(who, what) {
  return el("li", {}, el("span", { class: "who" }, who), " ", el("span", { class: "what" }, what));
}

// Newest first. A detach's missed count is known once the tap has rejoined at the head (0
// until then).
function renderDetaches(detaches) {
  fill("detaches", detaches.map((d) => logItem(d.consumer,
    `detached at ${fmt(d.sequence)}` + (d.missed ? ` · missed ${fmt(d.missed)} events` : ""))),
  emptyItem());
}

function renderFailures(failures) {
  fill("failures", failures.map((f) => logItem(f.consumer, f.error)), emptyItem());
}

// The rate's last minute, scaled from zero to its highest sample.
const rates = [];

function renderSpark(rate) {
  rates.push(rate);
  if (rates.length > SPARK_POINTS) rates.shift();
  const max = Math.max(1, ...rates);
  // Until a full window has been seen, the samples there are span the width.
  const step = 120 / Math.max(1, rates.length - 1);
  const points = rates.map((r, i) => `${(i * step).toFixed(1)},${(32 - (r / max) * 30).toFixed(1)}`);
  $("spark-line").setAttribute("points", points.join(" "));
  $("spark-area").setAttribute("points", ["0,32", ...points, "120,32"].join(" "));
}

function render(s) {
  $("sequence").textContent = fmt(s.sequence);
  $("rate").textContent = fmtRate(s.events_per_second);
  renderSpark(s.events_per_second);
  $("clients").textContent = fmt(s.clients);
  renderConsumers(s.consumers);
  renderBlocks(s.blocks);
  renderPairs("stores", s.stores, (store) => store.committed_height);
  renderPairs("forwarders", s.forwarders, (forwarder) => forwarder.backlog);
  renderDetaches(s.detaches);
  renderFailures(s.failures);
}

function setLink(state, text) {
  $("link").dataset.state = state;
  $("link-text").textContent = text;
  document.querySelector("main").classList.toggle("stale", state === "down");
}

let lastOk = 0;

async function poll() {
  try {
    // A node that stops answering must not stall the page: each request gives up in time.
    const response = await fetch("/status", { cache: "no-store", signal: AbortSignal.timeout(3 * POLL_MS) });
    if (!response.ok) throw new Error(`/status answered ${response.status}`);
    const status = await response.json();
    render(status);
    lastOk = Date.now();
    if (status.closed) setLink("ended", "the run has ended");
    else setLink("live", "live · updated each second");
  } catch (e) {
    const since = lastOk ? ` · last update ${Math.round((Date.now() - lastOk) / 1000)} s ago` : "";
    setLink("down", `no answer from the node${since}`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

// The latest trades, from a WebSocket on /stream: a lossy tap of its own, so a busy node or a
// slow browser costs the node nothing (the stream says how many trades went by unseen).
const trades = [];
let missedTrades = 0;
let tradesChanged = false;

function renderTrades() {
  if (!tradesChanged) return;
  tradesChanged = false;
  fill("trades", trades.map((t) => {
    const p = t.payload;
    return el("tr", {},
      el("td", { class: "text" }, fmt(t.sequence)),
      el("td", {}, fmt(t.block_height)),
      el("td", {}, fmt(p.market)),
      el("td", {}, fmt(p.price)),
      el("td", {}, fmt(p.size)),
      el("td", { class: "text " + String(p.aggressor).toLowerCase() }, p.aggressor),
      el("td", {}, fmt(p.buyer)),
      el("td", {}, fmt(p.seller)));
  }), emptyRow(8, "no trade yet"));
  $("trades-link").textContent = missedTrades
    ? `from /stream · ${fmt(missedTrades)} went by unseen`
    : "from /stream";
}

function streamTrades() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/stream?topics=Trade`);
  socket.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (typeof event.missed === "number") {
      missedTrades += event.missed;
    } else {
      trades.unshift(event);
      if (trades.length > TRADE_ROWS) trades.length = TRADE_ROWS;
    }
    tradesChanged = true;
  };
  socket.onclose = () => {
    $("trades-link").textContent = "from /stream · reconnecting…";
    setTimeout(streamTrades, 3000);
  };
}

poll();
streamTrades();
// Many trades a second: the table is redrawn at most four times a second.
setInterval(renderTrades, 250);
