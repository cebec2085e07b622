/* Closeloop console: the little behaviour htmx does not cover. Pages carry no inline
   script (the Content-Security-Policy forbids it); this file is loaded with `defer`.

   - CSRF: unsafe htmx requests repeat the page's token in a header.
   - Live fragments: an element with `data-live-stamp` sends its stamp back when it is
     polled, and the server answers 204 (nothing to redraw) while it is current; a
     hidden tab skips its polls and asks at once when shown again.
   - Due clocks (`[data-due]`) tick every second from the due time the server sent, in
     the page's language (templates in <meta name="closeloop-clock">).
   - Keyboard: j/k move in a case list, Enter opens, x selects, / searches, g + key goes
     to a page, ? shows the shortcuts. Single keys stay silent inside text fields and
     while an input method is composing. */
(function () {
  "use strict";

  var SAFE_METHODS = { GET: true, HEAD: true, OPTIONS: true };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var verb = String(event.detail.verb || "").toUpperCase();
    if (!SAFE_METHODS[verb]) {
      /* Plain forms carry the token in their hidden `_csrf_token` field. */
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
    var stamp = event.detail.elt && event.detail.elt.getAttribute("data-live-stamp");
    if (stamp) {
      event.detail.headers["X-Live-Stamp"] = stamp;
    }
  });

  /* A tab in the background does not poll; back in front, it asks at once. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute("data-live-stamp")) {
      event.preventDefault();
    }
  });

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && window.htmx) {
      window.htmx.trigger(document.body, "closeloop:changed");
      window.htmx.trigger(document.body, "closeloop:inbox");
    }
  });

  /* ---- Due clocks ---------------------------------------------------------------- */

  var clockTexts = null;
  function texts() {
    if (clockTexts === null) {
      var meta = document.querySelector('meta[name="closeloop-clock"]');
      try {
        clockTexts = JSON.parse(meta ? meta.getAttribute("content") : "{}");
      } catch (error) {
        clockTexts = {};
      }
    }
    return clockTexts;
  }

  function unit(name, n) {
    return String(texts()[name] || "{n}").replace("{n}", String(n));
  }

  /* The same wording as closeloop.console.live._span. */
  function span(seconds) {
    var days = Math.floor(seconds / 86400);
    var rest = seconds % 86400;
    var hours = Math.floor(rest / 3600);
    rest %= 3600;
    var minutes = Math.floor(rest / 60);
    var secs = rest % 60;
    var parts;
    if (days) {
      parts = [["day", days], ["hour", hours]];
    } else if (hours) {
      parts = [["hour", hours], ["minute", minutes], ["second", secs]];
    } else if (minutes) {
      parts = [["minute", minutes], ["second", secs]];
    } else {
      parts = [["second", secs]];
    }
    return parts.map(function (p) { return unit(p[0], p[1]); }).join(" ");
  }

  var LEVELS = [[0.5, "ok"], [0.8, "soon"], [1.0, "late"]];

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("[data-due]");
    for (var i = 0; i < clocks.length; i++) {
      var clock = clocks[i];
      var due = Date.parse(clock.getAttribute("data-due"));
      if (isNaN(due)) { continue; }
      var start = Date.parse(clock.getAttribute("data-start") || "");
      var left = Math.floor((due - now) / 1000);
      var level = "late";
      var text;
      if (left < 0) {
        level = "over";
        text = String(texts().overdue || "{time}").replace("{time}", span(-left));
      } else {
        if (!isNaN(start) && due > start) {
          var share = (now - start) / (due - start);
          for (var l = 0; l < LEVELS.length; l++) {
            if (share < LEVELS[l][0]) { level = LEVELS[l][1]; break; }
          }
        }
        text = String(texts().due_in || "{time}").replace("{time}", span(left));
      }
      if (clock.textContent !== text) { clock.textContent = text; }
      var wanted = "due due-" + level;
      if (clock.className !== wanted) { clock.className = wanted; }
    }
  }

  /* ---- Case lists: current row and selection, kept across live redraws ------------ */

  var currentId = null;
  var selected = {};

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-queue-row]"));
  }

  function markCurrent(row, focus) {
    rows().forEach(function (r) { r.classList.remove("is-current"); });
    if (!row) { currentId = null; return; }
    row.classList.add("is-current");
    currentId = row.getAttribute("data-case-id");
    if (focus) {
      var link = row.querySelector("[data-row-link]");
      if (link) { link.focus(); }
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = -1;
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-case-id") === currentId) { index = i; break; }
    }
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : index + step;
    next = Math.max(0, Math.min(all.length - 1, next));
    markCurrent(all[next], true);
  }

  function currentRow() {
    if (currentId === null) { return null; }
    return document.querySelector('[data-queue-row][data-case-id="' + currentId + '"]');
  }

  function restore() {
    var boxes = document.querySelectorAll('input[type="checkbox"][name="case_id"]');
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].checked = !!selected[boxes[i].value];
    }
    var row = currentRow();
    if (row) { row.classList.add("is-current"); }
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box && box.name === "case_id" && box.type === "checkbox") {
      if (box.checked) { selected[box.value] = true; } else { delete selected[box.value]; }
    }
  });

  document.addEventListener("focusin", function (event) {
    var row = event.target && event.target.closest ? event.target.closest("[data-queue-row]") : null;
    if (row) { markCurrent(row, false); }
  });

  /* A redraw replaces the rows: the keyboard user keeps their place. */
  var refocus = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    refocus = !!(target && document.activeElement && target.contains(document.activeElement));
  });

  document.addEventListener("htmx:afterSettle", function () {
    restore();
    tick();
    if (refocus) {
      refocus = false;
      var row = currentRow();
      var link = row && row.querySelector("[data-row-link]");
      if (link) { link.focus({ preventScroll: true }); }
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "bulk-assign" && event.detail.successful) { selected = {}; restore(); }
  });

  /* ---- The shortcuts overlay ------------------------------------------------------ */

  var returnFocus = null;

  function overlay() { return document.getElementById("shortcuts"); }

  function openShortcuts() {
    var box = overlay();
    if (!box || !box.hidden) { return; }
    returnFocus = document.activeElement;
    box.hidden = false;
    var close = box.querySelector("[data-shortcuts-close]");
    if (close) { close.focus(); }
  }

  function closeShortcuts() {
    var box = overlay();
    if (!box || box.hidden) { return; }
    box.hidden = true;
    if (returnFocus && returnFocus.focus) { returnFocus.focus(); }
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !target.closest) { return; }
    if (target.closest("[data-shortcuts-open]")) { openShortcuts(); }
    else if (target.closest("[data-shortcuts-close]")) { closeShortcuts(); }
    else if (target === overlay()) { closeShortcuts(); }
  });

  /* ---- Keys ----------------------------------------------------------------------- */

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) < 0;
  }

  /* Shared with the page scripts (js/case.js): is the key going into a form field? */
  window.closeloop = { typing: typing };

  var pendingG = 0;

  document.addEventListener("keydown", function (event) {
    /* An input method composing (Chinese pinyin, ...) owns every key. */
    if (event.isComposing || event.keyCode === 229) { return; }
    if (event.key === "Escape") { closeShortcuts(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target)) { return; }
    var box = overlay();
    if (box && !box.hidden) {
      /* The overlay is modal: the focus stays on its close button. */
      if (event.key === "?" || event.key === "Tab") { event.preventDefault(); }
      if (event.key === "?") { closeShortcuts(); }
      return;
    }
    if (pendingG && Date.now() - pendingG < 1500) {
      pendingG = 0;
      var link = document.querySelector('[data-nav-key="' + event.key.replace(/["\\]/g, "") + '"]');
      if (link) { event.preventDefault(); link.click(); }
      return;
    }
    pendingG = 0;
    switch (event.key) {
      case "?":
        event.preventDefault();
        openShortcuts();
        break;
      case "/":
        var search = document.querySelector("[data-search]");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        break;
      case "j":
        event.preventDefault();
        move(1);
        break;
      case "k":
        event.preventDefault();
        move(-1);
        break;
      case "x":
        var row = currentRow();
        var check = row && row.querySelector('input[name="case_id"]');
        if (check) {
          event.preventDefault();
          check.click();
        }
        break;
      case "Enter":
        var chosen = currentRow();
        var open = chosen && chosen.querySelector("[data-row-link]");
        /* On the row's own link Enter already follows it. */
        if (open && document.activeElement !== open && !(document.activeElement && document.activeElement.closest && document.activeElement.closest("a, button"))) {
          event.preventDefault();
          open.click();
        }
        break;
      case "g":
        pendingG = Date.now();
        break;
      default:
        break;
    }
  });

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
