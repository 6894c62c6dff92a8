// likewise demo site: plain JavaScript over the public HTTP API. Catalog strings are user
// content: they only ever reach the page through textContent, never innerHTML.
"use strict";

const KEY = document.querySelector('meta[name="likewise-key"]').content;

function status(text) {
  document.getElementById("status").textContent = text;
}

async function api(path, options = {}, key = KEY) {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = "Bearer " + key;
  const response = await fetch(path, { ...options, headers });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = (body && body.error) || {};
    throw new Error((error.field ? error.field + ": " : "") + (error.message || response.status));
  }
  return body;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// The visitor: remembered in this browser, editable, or a fresh one.
function visitor() {
  const input = document.getElementById("visitor");
  return input.value.trim() || newVisitor();
}
function newVisitor() {
  const id = "visitor-" + Math.random().toString(36).slice(2, 8);
  document.getElementById("visitor").value = id;
  localStorage.setItem("likewise-visitor", id);
  return id;
}

async function record(itemId, type, recommendationId) {
  const event = { user_id: visitor(), item_id: itemId, type: type };
  if (recommendationId) event.recommendation_id = recommendationId;
  await api("/v1/events", { method: "POST", body: JSON.stringify(event) });
}

function card(item, recommendationId) {
  const link = el("a", { href: "/items/" + encodeURIComponent(item.id), text: item.title || item.id });
  link.addEventListener("click", () => {
    if (recommendationId) {
      // the click is tied to the list it came from (keepalive: the page is being left)
      const event = { user_id: visitor(), item_id: item.id, type: "click",
                      recommendation_id: recommendationId };
      const headers = { "Content-Type": "application/json" };
      if (KEY) headers.Authorization = "Bearer " + KEY;
      fetch("/v1/events", { method: "POST", headers, keepalive: true, body: JSON.stringify(event) });
    }
  });
  const reason = item.because ? "because you liked " + item.because : item.reason || "";
  return el("li", { class: "card", "data-id": item.id },
    link,
    reason ? el("span", { class: "reason", text: reason }) : null,
    el("span", { class: "buttons" },
      el("button", { type: "button", "aria-label": "like " + (item.title || item.id), text: "Like",
        onclick: () => react(item.id, "like", recommendationId) }),
      el("button", { type: "button", "aria-label": "dislike " + (item.title || item.id), text: "Dislike",
        onclick: () => react(item.id, "dislike", recommendationId) })));
}

async function react(itemId, type, recommendationId) {
  try {
    await record(itemId, type, recommendationId);
    status(type === "like" ? "Liked." : "Disliked.");
    await refresh();
  } catch (error) { status(error.message); }
}

async function fill(list, items, recommendationId, emptyText) {
  // titles come from the items themselves; returns them, fetched once
  const detailed = await Promise.all(items.map(async (it) => {
    try { return { ...(await api("/v1/items/" + encodeURIComponent(it.id))), ...it }; }
    catch { return it; }
  }));
  list.replaceChildren(...detailed.map((item) => card(item, recommendationId)));
  if (!detailed.length) list.replaceChildren(el("li", { class: "empty", text: emptyText }));
  list.dataset.recommendationId = recommendationId || "";  // which list is shown now
  return detailed;
}

async function forYou(list, strategy, diversity) {
  const params = new URLSearchParams({ n: "8" });
  if (strategy) params.set("strategy", strategy);
  if (diversity > 0) { params.set("diversity", String(diversity)); params.set("strategy", strategy || "hybrid"); }
  const rec = await api("/v1/users/" + encodeURIComponent(visitor()) + "/recommendations?" + params);
  list.dataset.strategy = rec.strategy + (rec.variant ? " (" + rec.variant + ")" : "");
  list.setAttribute("aria-label", "For you: " + list.dataset.strategy);
  await fill(list, rec.items, rec.recommendation_id, "Nothing yet: like an item.");
}

let refresh = async () => {};

async function catalogPage() {
  const results = document.getElementById("results");
  const category = document.getElementById("category");
  const strategy = document.getElementById("strategy");
  const diversity = document.getElementById("diversity");
  const compare = document.getElementById("compare");
  const second = document.getElementById("strategy-b");
  const seen = new Set();
  function addCategories(items) {
    for (const item of items) for (const tag of item.tags || []) {
      if (!seen.has(tag)) { seen.add(tag); category.append(el("option", { value: tag, text: tag })); }
    }
  }
  async function search(event) {
    if (event) event.preventDefault();
    const text = document.getElementById("q").value.trim();
    try {
      let list;
      const where = category.value ? { tags: category.value } : null;
      if (text) {
        list = await api("/v1/search", { method: "POST",
          body: JSON.stringify({ text, n: 20, where, user_id: visitor() }) });
      } else {
        // popular items: a user with no events, and a strategy named so that no experiment
        // takes this list over
        list = await api("/v1/users/" + encodeURIComponent("catalog-browser") +
          "/recommendations?n=20&include_seen=true&strategy=mean" + (where ? "&where=" + encodeURIComponent(JSON.stringify(where)) : ""));
      }
      addCategories(await fill(results, list.items, list.recommendation_id, "No items match."));
    } catch (error) { status(error.message); }
  }
  refresh = async () => {
    try {
      await forYou(document.getElementById("foryou"), strategy.value, Number(diversity.value));
      const b = document.getElementById("foryou-b");
      b.hidden = !compare.checked;
      if (compare.checked) await forYou(b, second.value, Number(diversity.value));
    } catch (error) { status(error.message); }
  };
  diversity.addEventListener("input", () => {
    document.getElementById("diversity-value").textContent = diversity.value;
  });
  for (const control of [strategy, diversity, compare, second]) control.addEventListener("change", refresh);
  document.getElementById("search").addEventListener("submit", search);
  await Promise.all([search(), refresh()]);
}

async function itemPage() {
  const id = document.getElementById("item-page").dataset.item;
  try {
    const item = await api("/v1/items/" + encodeURIComponent(id));
    document.getElementById("item-title").textContent = item.title || item.id;
    document.title = (item.title || item.id) + " · likewise";
    const meta = [item.year, ...(item.tags || [])].filter((x) => x !== undefined && x !== null);
    document.getElementById("item-meta").textContent = meta.join(" · ");
  } catch (error) { status(error.message); return; }
  document.getElementById("like").addEventListener("click", () => react(id, "like"));
  document.getElementById("dislike").addEventListener("click", () => react(id, "dislike"));
  refresh = async () => {
    try { await forYou(document.getElementById("foryou"), "", 0); } catch (error) { status(error.message); }
  };
  try {
    await record(id, "view");
    const related = await api("/v1/items/" + encodeURIComponent(id) + "/similar?n=8&user_id=" +
      encodeURIComponent(visitor()));
    await fill(document.getElementById("related"), related.items, related.recommendation_id,
      "Nothing related yet.");
  } catch (error) { status(error.message); }
  await refresh();
}

function percent(x) { return (100 * x).toFixed(1) + "%"; }

const CHART_OPTIONS = { animation: false, responsive: true, maintainAspectRatio: false };

// Bars with their 95% interval drawn as two short ticks.
function barChart(canvas, label, rows, value, interval) {
  if (!window.Chart) return;
  new Chart(canvas, {
    type: "bar",
    data: { labels: rows.map((r) => r.group), datasets: [
      { label, data: rows.map((r) => r[value]) },
      { label: "95% low", data: rows.map((r) => r[interval][0]), type: "line", showLine: false, pointStyle: "line", pointRadius: 12 },
      { label: "95% high", data: rows.map((r) => r[interval][1]), type: "line", showLine: false, pointStyle: "line", pointRadius: 12 }] },
    options: { ...CHART_OPTIONS, scales: { y: { beginAtZero: true, title: { display: true, text: label } } } },
  });
}

// One line per strategy over days, with its 95% interval as a shaded band.
function bandChart(canvas, label, rows, value, interval) {
  if (!window.Chart) return;
  const days = [...new Set(rows.map((r) => r.group.split(" ")[0]))].sort();
  const series = {};
  for (const r of rows) {
    const [day, ...rest] = r.group.split(" ");
    (series[rest.join(" ")] ||= {})[day] = r;
  }
  const datasets = [];
  Object.entries(series).forEach(([name, byDay], k) => {
    const colour = "hsl(" + ((k * 137) % 360) + ", 60%, 45%)";
    const at = (f) => days.map((d) => (byDay[d] ? f(byDay[d]) : null));
    datasets.push(
      { label: name + " 95% low", data: at((r) => r[interval][0]), pointRadius: 0, borderWidth: 0, fill: false },
      { label: name + " 95% high", data: at((r) => r[interval][1]), pointRadius: 0, borderWidth: 0,
        fill: "-1", backgroundColor: "hsla(" + ((k * 137) % 360) + ", 60%, 45%, 0.15)" },
      { label: name, data: at((r) => r[value]), borderColor: colour, backgroundColor: colour });
  });
  new Chart(canvas, {
    type: "line", data: { labels: days, datasets },
    options: { ...CHART_OPTIONS, plugins: { legend: { labels: { filter: (item) => !item.text.includes("95%") } } },
      scales: { y: { beginAtZero: true, title: { display: true, text: label } } } },
  });
}

function interval(r, value, ci) {
  return percent(r[value]) + " (" + percent(r[ci][0]) + "–" + percent(r[ci][1]) + ")";
}

function ms(x) { return x === null ? "–" : x.toFixed(1); }

async function dashboardPage() {
  const period = document.getElementById("since");
  period.addEventListener("change", () => showDashboard(period.value));
  await showDashboard(period.value);
  await showFeed();
}

async function showFeed() {
  // the feed's queue: waiting, applied, refused, and how long the oldest waiting change has waited
  try {
    const feed = await api("/v1/feed");
    const rows = [["waiting", feed.pending], ["applied", feed.done], ["refused", feed.failed],
      ["lag", feed.lag.toFixed(1) + " s"]];
    document.getElementById("feed").replaceChildren(
      ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
    const body = document.querySelector("#feed-failures tbody");
    body.replaceChildren(...feed.failures.map((f) => el("tr", {},
      el("td", { text: f.source }), el("td", { text: f.field ?? "" }), el("td", { text: f.error }))));
    if (!feed.failures.length) body.replaceChildren(el("tr", {}, el("td", { colspan: "3", text: "None." })));
  } catch (error) { status(error.message); }
}

async function showDashboard(period) {
  // reports since the start of the UTC day `period` days back (everything when empty)
  const since = period ? "&since=" + String((Math.floor(Date.now() / 86_400_000) - Number(period) + 1) * 86_400) : "";
  for (const canvas of document.querySelectorAll("canvas")) if (window.Chart) Chart.getChart(canvas)?.destroy();
  try {
    const [report, daily, activity, stats, segments] = await Promise.all([
      api("/v1/reports/ctr?group_by=strategy" + since),
      api("/v1/reports/ctr?group_by=" + encodeURIComponent("day,strategy") + since),
      api("/v1/reports/activity?" + since.slice(1)),
      api("/v1/stats"),
      api("/v1/reports/ctr?group_by=segment" + since)]);
    const body = document.querySelector("#ctr-table tbody");
    body.replaceChildren(...report.rows.map(rateRow));
    if (!report.rows.length) body.replaceChildren(el("tr", {}, el("td", { colspan: "6", text: "No lists shown in this period." })));
    const bySegment = document.getElementById("segment-table");  // shown once a segment has lists
    bySegment.hidden = !segments.rows.length;
    bySegment.tBodies[0].replaceChildren(...segments.rows.map(rateRow));
    barChart(document.getElementById("ctr-chart"), "CTR", report.rows, "ctr", "ctr_ci95");
    barChart(document.getElementById("conversion-chart"), "conversion rate", report.rows,
      "conversion_rate", "conversion_rate_ci95");
    bandChart(document.getElementById("day-chart"), "CTR", daily.rows, "ctr", "ctr_ci95");
    bandChart(document.getElementById("day-conversion-chart"), "conversion rate", daily.rows,
      "conversion_rate", "conversion_rate_ci95");
    showActivity(activity);
    const ops = document.getElementById("ops");
    const flat = Object.entries(stats).filter(([, v]) => typeof v !== "object");
    ops.replaceChildren(...flat.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: String(v) })]));
  } catch (error) { status(error.message); }
}

function rateRow(r) {
  return el("tr", {},
    el("th", { scope: "row", text: r.group }), el("td", { text: String(r.impressions) }),
    el("td", { text: String(r.clicks) }), el("td", { text: interval(r, "ctr", "ctr_ci95") }),
    el("td", { text: String(r.conversions) }),
    el("td", { text: interval(r, "conversion_rate", "conversion_rate_ci95") }));
}

function showActivity(activity) {
  const { coverage, latency_ms: latency } = activity;
  document.getElementById("coverage").textContent = "Catalog coverage: " + coverage.items_shown +
    " of " + coverage.catalog + " items (" + percent(coverage.share) + ") were in at least one list.";
  const rows = [["all lists", latency], ...Object.entries(latency.by_strategy)];
  document.querySelector("#latency-table tbody").replaceChildren(...rows.map(([name, p]) => el("tr", {},
    el("th", { scope: "row", text: name }), el("td", { text: String(p.count) }),
    el("td", { text: ms(p.p50) }), el("td", { text: ms(p.p90) }), el("td", { text: ms(p.p99) }))));
  if (!window.Chart) return;
  const days = [...new Set(activity.events.map((r) => r.day))].sort();
  const types = [...new Set(activity.events.map((r) => r.type))].sort();
  const count = {};
  for (const r of activity.events) count[r.day + " " + r.type] = r.count;
  new Chart(document.getElementById("events-chart"), {
    type: "bar",
    data: { labels: days, datasets: types.map((t) => ({ label: t, data: days.map((d) => count[d + " " + t] || 0) })) },
    options: { ...CHART_OPTIONS, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true,
      title: { display: true, text: "events" } } } },
  });
}

async function experimentsPage() {
  const list = document.getElementById("experiment-list");
  async function show() {
    const experiments = await api("/v1/experiments");
    if (!experiments.length) { list.replaceChildren(el("p", { text: "No experiments yet." })); return; }
    const blocks = [];
    for (const e of experiments.slice().reverse()) {
      const report = await api("/v1/experiments/" + encodeURIComponent(e.name));
      const table = el("table", {}, el("caption", { text: e.name + (e.running ? " (running)" : " (stopped" + (e.winner ? ", winner " + e.winner : "") + ")") }),
        el("thead", {}, el("tr", {}, ...["variant", "strategy", "impressions", "clicks", "CTR (95% CI)"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, ...report.variants.map((v) => el("tr", {},
          el("th", { scope: "row", text: v.variant }),
          el("td", { text: v.strategy + (v.diversity != null ? ", diversity " + v.diversity : "") }),
          el("td", { text: String(v.impressions) }), el("td", { text: String(v.clicks) }),
          el("td", { text: interval(v, "ctr", "ctr_ci95") })))));
      const block = el("div", { class: "experiment", "data-name": e.name }, table,
        el("p", { class: "summary", text: report.summary }));
      if (e.running) {
        for (const v of e.variants) block.append(el("button", { type: "button", text: "Stop, promote " + v.name,
          onclick: () => stop(e.name, v.name) }));
        block.append(el("button", { type: "button", text: "Stop", onclick: () => stop(e.name, null) }));
      }
      blocks.push(block);
    }
    list.replaceChildren(...blocks);
  }
  async function stop(name, promote) {
    try {
      await api("/v1/experiments/" + encodeURIComponent(name) + "/stop",
        { method: "POST", body: JSON.stringify({ promote }) }, writeKey());
      await show();
    } catch (error) { status(error.message); }
  }
  function writeKey() { return document.getElementById("write-key").value || KEY; }
  document.getElementById("new-experiment").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: document.getElementById("exp-name").value,
      variants: [document.getElementById("exp-a").value, document.getElementById("exp-b").value],
      split: document.getElementById("exp-split").value || null };
    try {
      await api("/v1/experiments", { method: "POST", body: JSON.stringify(body) }, writeKey());
      status("Started " + body.name + ".");
      await show();
    } catch (error) { status(error.message); }
  });
  try { await show(); } catch (error) { status(error.message); }
}

document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("visitor");
  input.value = new URLSearchParams(location.search).get("visitor") || localStorage.getItem("likewise-visitor") || "";
  if (!input.value) newVisitor();
  input.addEventListener("change", () => { localStorage.setItem("likewise-visitor", input.value.trim()); refresh(); });
  document.getElementById("visitor-form").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  document.getElementById("new-visitor").addEventListener("click", () => { newVisitor(); refresh(); });
  const pages = { catalog: catalogPage, item: itemPage, dashboard: dashboardPage, experiments: experimentsPage };
  const start = pages[document.body.dataset.page];
  if (start) start().then(() => document.body.setAttribute("data-ready", "true"));
});
