// The dashboard's Retention section: cohorts of first seen and engagement per strategy, over
// the public reports. Uses site.js's `api` and `el` (loaded first); strategy names are user
// content and reach the page only through textContent.
"use strict";

(() => {
  const section = () => document.getElementById("retention");

  function returned(r) {
    return r.rate === null ? "–" : (100 * r.rate).toFixed(1) + "% (" + r.returned + "/" + r.eligible + ")";
  }

  function rows(tbody, items, cells, empty, width) {
    tbody.replaceChildren(...items.map((item) => el("tr", {}, ...cells(item).map((text, k) =>
      k === 0 ? el("th", { scope: "row", text }) : el("td", { text })))));
    if (!items.length) tbody.replaceChildren(el("tr", {}, el("td", { colspan: String(width), text: empty })));
  }

  async function show() {
    const period = document.getElementById("since").value;
    const by = document.getElementById("cohorts-by").value;
    // the same window as the rest of the dashboard: from the start of the UTC day `period` days back
    const since = period ? "&since=" + String((Math.floor(Date.now() / 86_400_000) - Number(period) + 1) * 86_400) : "";
    section().removeAttribute("data-ready");
    try {
      const [cohorts, engagement] = await Promise.all([
        api("/v1/reports/retention?by=" + by + since),
        api("/v1/reports/engagement?group_by=strategy" + since)]);
      rows(document.querySelector("#cohort-table tbody"), cohorts.rows,
        (c) => [c.cohort, String(c.users), ...c.returns.map(returned)], "No users first seen in this period.", 5);
      rows(document.querySelector("#engagement-table tbody"), engagement.rows,
        (g) => [g.group, String(g.impressions), String(g.users), g.dwell_seconds.toFixed(0),
          g.dwell_per_user === null ? "–" : g.dwell_per_user.toFixed(1), String(g.first_shown),
          ...g.returns.map(returned)], "No lists shown in this period.", 9);
      section().setAttribute("data-ready", "true");
    } catch (error) { status(error.message); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!section()) return;
    document.getElementById("since").addEventListener("change", show);
    document.getElementById("cohorts-by").addEventListener("change", show);
    show();
  });
})();
