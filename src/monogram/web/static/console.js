// Monogram console: search as you type, keyboard shortcuts in the review queue, live campaign
// progress, select-all for bulk actions. Plain JavaScript, no build step.
(function () {
  "use strict";

  // Customers: results as you type (the server answers a fragment of list items).
  const search = document.querySelector("[data-search]");
  if (search) {
    const target = document.getElementById(search.dataset.search);
    let timer = null, latest = 0;
    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        const asked = ++latest;
        const answer = await fetch("/ui/customers/search?q=" + encodeURIComponent(search.value),
          { credentials: "same-origin" });
        if (asked === latest && answer.ok) { target.innerHTML = await answer.text(); }
      }, 120);
    });
  }

  // Review queue: j/k move, a approves, e edits, r rejects, x selects for bulk approval.
  const items = Array.from(document.querySelectorAll(".review-item"));
  if (items.length) {
    let at = 0;
    const select = function (i) {
      at = Math.max(0, Math.min(items.length - 1, i));
      items.forEach(function (el, n) { el.setAttribute("aria-selected", n === at ? "true" : "false"); });
      items[at].scrollIntoView({ block: "nearest" });
    };
    select(0);
    document.addEventListener("keydown", function (event) {
      const tag = (event.target.tagName || "").toLowerCase();
      if (tag === "textarea" || tag === "input" || event.ctrlKey || event.metaKey || event.altKey) { return; }
      const item = items[at];
      const press = function (selector) { const button = item.querySelector(selector); if (button) { button.click(); } };
      if (event.key === "j") { select(at + 1); }
      else if (event.key === "k") { select(at - 1); }
      else if (event.key === "a") { press("button[value=approve]"); }
      else if (event.key === "r") { press("button[value=reject]"); }
      else if (event.key === "e") { event.preventDefault(); item.querySelector("textarea").focus(); }
      else if (event.key === "x") { const box = item.querySelector("input[type=checkbox]"); box.checked = !box.checked; }
    });
  }
  const all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=review_id]").forEach(function (box) { box.checked = all.checked; });
    });
  }

  // Campaigns: live progress while a run is going.
  const progress = document.querySelector("[data-progress]");
  if (progress) {
    const poll = async function () {
      const answer = await fetch(progress.dataset.progress, { credentials: "same-origin" });
      if (!answer.ok) { return; }
      const state = await answer.json();
      progress.querySelector("[data-done]").textContent = state.done;
      progress.querySelector("[data-total]").textContent = state.total === null ? "?" : state.total;
      progress.querySelector("[data-state]").textContent = state.state;
      const bar = progress.querySelector(".bar > span");
      if (state.total) { bar.style.width = Math.round(100 * state.done / state.total) + "%"; }
      if (state.state === "running" || state.state === "starting") { setTimeout(poll, 700); }
      // replace(): Back from the results leads to the campaign, not to this watching page.
      else { window.location.replace(progress.dataset.results); }
    };
    poll();
  }
})();
