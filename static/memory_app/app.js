// tommemory: local times, keyboard navigation, and deep links into long transcripts.
// Loaded as a file (the CSP allows no inline script); works on htmx-swapped content too.
(function () {
  "use strict";

  const timeFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      const moment = new Date(el.getAttribute("datetime"));
      if (!isNaN(moment)) el.textContent = timeFormat.format(moment);
    });
  }

  // A link to #turn-N beyond the first page of a transcript reloads at that turn.
  function openLinkedTurn() {
    const match = /^#turn-(\d+)$/.exec(location.hash);
    if (!match || document.getElementById("turn-" + match[1])) return;
    if (!document.querySelector("[data-transcript]")) return;
    const url = new URL(location.href);
    url.searchParams.set("from", match[1]);
    location.replace(url.toString());
  }

  let current = -1;

  function rows() {
    return Array.from(document.querySelectorAll("[data-row]"));
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const active = all.findIndex(function (el) { return el.classList.contains("current"); });
    current = active >= 0 ? active : current;
    if (all[current]) all[current].classList.remove("current");
    current = Math.max(0, Math.min(all.length - 1, current + step));
    all[current].classList.add("current");
    all[current].scrollIntoView({ block: "nearest" });
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]");
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "Enter") {
      const row = document.querySelector("[data-row].current");
      const link = row && row.querySelector("a[href]");
      if (link) link.click();
    } else if (event.key === "/") {
      const search = document.querySelector("[data-search], form.filters input:not([type=hidden])");
      if (search) { search.focus(); event.preventDefault(); }
    } else if (event.key === "?") {
      const dialog = document.getElementById("keys");
      if (dialog && !dialog.open) dialog.showModal();
    }
  });

  // On a narrow screen the navigation folds behind a "Menu" button.
  function foldNavigation() {
    const toggle = document.querySelector(".menu-toggle");
    const nav = document.getElementById("main-nav");
    if (!toggle || !nav) return;
    document.documentElement.classList.add("js");
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    openLinkedTurn();
    foldNavigation();
  });
  document.addEventListener("htmx:load", function (event) { localizeTimes(event.detail.elt); });
})();
