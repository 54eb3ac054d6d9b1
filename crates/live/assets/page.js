// The live page: reads /status once a second and shows it. Plain JavaScript, no library.
"use strict";

const POLL_MS = 1000;
const SPARK_POINTS = 60;
const BLOCK_ROWS = 8;

const rates = [];
let lastOk = 0;

const $ = (id) => document.getElementById(id);
const fmt = (n) => (typeof n === "number" ? Math.round(n).toLocaleString("en-US") : "–");

function fmtRate(n) {
  if (typeof n !== "number") return "–";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + " M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + " k";
  return fmt(n);
}

// The first of `keys` that `obj` has (so a renamed field shows rather than vanishes).
function pick(obj, ...keys) {
  for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

// Replaces a list's rows; `empty` is the row shown when there is none.
function fill(target, rows, empty) {
  const box = $(target);
  box.replaceChildren(...(rows.length ? rows : [empty]));
}

function emptyRow(cols, text) {
  return el("tr", { class: "empty" }, el("td", { colspan: cols }, text));
}

// Present consumers first (failed ones at the top), then those that have finished or left.
const STATE_ORDER = { failed: 0, detached: 1, running: 2, finished: 3, left: 4 };

function renderConsumers(all, capacity) {
  const rank = (c) => STATE_ORDER[c.state] ?? 5;
  const consumers = all.map((c, i) => [c, i]).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map((p) => p[0]);
  const maxLag = Math.max(1, capacity || 0, ...consumers.map((c) => c.lag || 0));
  const rows = consumers.map((c) => {
    const lag = c.lag || 0;
    const share = Math.min(1, lag / maxLag);
    const fillBar = el("div", { class: "fill" + (share > 0.5 ? " high" : ""), style: `width:${(share * 100).toFixed(1)}%` });
    const state = String(pick(c, "state") ?? "unknown");
    return el("tr", { "data-consumer": c.name },
      el("td", { class: "text name", title: c.name }, c.name),
      el("td", { class: "text kind" }, pick(c, "kind") ?? ""),
      el("td", { class: "text" }, el("span", { class: "badge " + state }, state)),
      el("td", {}, el("div", { class: "lag" }, el("span", { class: "lagval" }, fmt(lag)), el("div", { class: "bar" }, fillBar))),
      el("td", {}, fmt(c.handled)),
      el("td", {}, fmt(c.skipped)),
      el("td", {}, fmt(c.detaches)),
      el("td", {}, fmt(c.missed)));
  });
  fill("consumers", rows, emptyRow(8, "no consumer"));
}

function renderBlocks(blocks) {
  const latest = [...blocks].sort((a, b) => (b.height || 0) - (a.height || 0)).slice(0, BLOCK_ROWS);
  fill("blocks", latest.map((b) => el("tr", {},
    el("td", { class: "text" }, fmt(b.height)),
    el("td", {}, fmt(pick(b, "events"))),
    el("td", {}, fmt(pick(b, "txs", "tx_count", "transactions"))))), emptyRow(3, "no block yet"));
  const top = latest[0];
  $("height").textContent = top ? fmt(top.height) : "–";
  $("height-note").textContent = top
    ? `${fmt(pick(top, "events"))} events · ${fmt(pick(top, "txs", "tx_count", "transactions"))} transactions`
    : "no block yet";
}

// Stores and forwarders: a name and a figure (a forwarder's error in its place, if it failed).
function renderPairs(target, items, valueKeys, empty) {
  fill(target, items.map((s) => {
    const error = pick(s, "error");
    return el("tr", {},
      el("td", { class: "text name" }, pick(s, "name") ?? ""),
      error ? el("td", { class: "error", title: error }, error) : el("td", {}, fmt(pick(s, ...valueKeys))));
  }), emptyRow(2, empty));
}

// A detach or failure: who, and what happened (objects or plain strings).
function logItem(who, what) {
  return el("li", {}, el("span", { class: "who" }, who), " ", el("span", { class: "what" }, what));
}

// Newest first, as /status lists them. A detach's missed count is known once the tap has
// rejoined at the head (0 until then).
function renderDetaches(detaches) {
  const items = detaches.map((d) => {
    const missed = pick(d, "missed") || 0;
    const what = `detached at ${fmt(pick(d, "sequence"))}` + (missed ? ` · missed ${fmt(missed)} events` : "");
    return logItem(pick(d, "consumer", "name") ?? "?", what);
  });
  fill("detaches", items, el("li", { class: "empty" }, "none"));
}

function renderFailures(failures) {
  const items = failures.map((f) => typeof f === "string"
    ? logItem("", f)
    : logItem(pick(f, "consumer", "name") ?? "", pick(f, "error", "message", "reason") ?? JSON.stringify(f)));
  fill("failures", items, el("li", { class: "empty" }, "none"));
}

function renderSpark(rate) {
  rates.push(typeof rate === "number" ? rate : 0);
  if (rates.length > SPARK_POINTS) rates.shift();
  const max = Math.max(1, ...rates);
  // Until a full window has been seen, the samples there are span the width.
  const step = 120 / Math.max(1, rates.length - 1);
  const points = rates.map((r, i) => `${(i * step).toFixed(1)},${(32 - (r / max) * 30).toFixed(1)}`);
  $("spark-line").setAttribute("points", points.join(" "));
  // The area under the line, down to zero.
  $("spark-area").setAttribute("points", ["0,32", ...points, "120,32"].join(" "));
}

function render(s) {
  $("sequence").textContent = fmt(s.sequence);
  const rate = pick(s, "events_per_second");
  $("rate").textContent = fmtRate(rate);
  renderSpark(rate);
  $("clients").textContent = fmt(pick(s, "clients") ?? 0);
  const consumers = s.consumers || [];
  const running = consumers.filter((c) => c.state === "running").length;
  $("consumer-note").textContent = `${consumers.length} consumers on the bus, ${running} running`;
  renderConsumers(consumers, pick(s, "capacity"));
  renderBlocks(s.blocks || []);
  renderPairs("stores", s.stores || [], ["committed_height", "height"], "none");
  renderPairs("forwarders", s.forwarders || [], ["backlog"], "none");
  renderDetaches(s.detaches || []);
  renderFailures(s.failures || []);
}

function setLink(state, text) {
  $("link").dataset.state = state;
  $("link-text").textContent = text;
  document.querySelector("main").classList.toggle("stale", state === "down");
}

async function poll() {
  try {
    // A node that stops answering must not stall the page: each request gives up in time.
    const response = await fetch("/status", { cache: "no-store", signal: AbortSignal.timeout(3 * POLL_MS) });
    if (!response.ok) throw new Error(`/status answered ${response.status}`);
    const status = await response.json();
    render(status);
    lastOk = Date.now();
    if (pick(status, "closed")) setLink("ended", "the run has ended");
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
const TRADE_ROWS = 5;
let trades = [];
let missedTrades = 0;
let tradesDirty = false;

function renderTrades() {
  if (!tradesDirty) return;
  tradesDirty = false;
  fill("trades", trades.map((t) => {
    const p = t.payload || {};
    const side = String(p.aggressor ?? "");
    return el("tr", {},
      el("td", { class: "text" }, fmt(t.sequence)),
      el("td", {}, fmt(t.block_height)),
      el("td", {}, fmt(p.market)),
      el("td", {}, fmt(p.price)),
      el("td", {}, fmt(p.size)),
      el("td", { class: "text " + side.toLowerCase() }, side),
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
    if (typeof event.missed === "number") { missedTrades += event.missed; tradesDirty = true; return; }
    trades.unshift(event);
    if (trades.length > TRADE_ROWS) trades.length = TRADE_ROWS;
    tradesDirty = true;
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
