// tommemory: local times, keyboard navigation, and deep links into long transcripts.
// Loaded as a file (the CSP allows no inline script); works on htmx-swapped content too.
(function () {
  "use strict";

  // The reader's zone in the server's shape ("2026-12-06 09:00:00 UTC" becomes
  // "2026-12-06 18:00:00 GMT+9"): about as wide, so no line rewraps once scripts run
  // (Lighthouse counted that as layout shift).
  const timeFormat = new Intl.DateTimeFormat("en-CA", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });

  function localTime(moment) {
    const part = {};
    timeFormat.formatToParts(moment).forEach(function (p) { part[p.type] = p.value; });
    return part.year + "-" + part.month + "-" + part.day + " " + part.hour + ":" +
      part.minute + ":" + part.second + " " + part.timeZoneName;
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      const moment = new Date(el.getAttribute("datetime"));
      if (!isNaN(moment)) el.textContent = localTime(moment);
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

  // On a narrow screen the navigation is folded behind a "Menu" button from the first paint
  // (app.css); this opens it. No class is set on the page here: one would move the layout
  // once the script ran.
  function foldNavigation() {
    const toggle = document.querySelector(".menu-toggle");
    const nav = document.getElementById("main-nav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }

  // A filter form sends every field, empty ones too: drop those (and any in the request's
  // own URL), so the list's pushed URL carries only what is chosen. Without scripts the
  // server redirects such a URL to its clean form instead.
  function dropEmpty(params) {  // FormData or URLSearchParams
    Array.from(new Set(params.keys())).forEach(function (key) {
      const kept = params.getAll(key).filter(function (value) { return value !== ""; });
      params.delete(key);
      kept.forEach(function (value) { params.append(key, value); });
    });
  }

  function withoutEmpty(event) {
    const detail = event.detail;
    if (detail.verb !== "get") return;
    dropEmpty(detail.formData);
    const url = new URL(detail.path, location.href);
    dropEmpty(url.searchParams);
    if (url.origin === location.origin) detail.path = url.pathname + url.search + url.hash;
  }

  document.addEventListener("htmx:configRequest", withoutEmpty);
  document.addEventListener("DOMContentLoaded", function () {
    localizeTimes(document);
    openLinkedTurn();
    foldNavigation();
  });
  document.addEventListener("htmx:load", function (event) { localizeTimes(event.detail.elt); });
})();
