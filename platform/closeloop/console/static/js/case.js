/* Closeloop console, case page: one key per common action. The key opens that action's
   form (a <details data-action data-key>) and puts the cursor in its first field.
   Single keys stay silent while an input method composes and inside form fields; with
   Ctrl, Alt or Meta they are the browser's. Loaded with `defer`; no inline script. */
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || target.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var type = (target.getAttribute("type") || "text").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset"].indexOf(type) < 0;
  }

  function overlayOpen() {
    var box = document.getElementById("shortcuts");
    return !!(box && !box.hidden);
  }

  function openAction(details) {
    details.open = true;
    var field = details.querySelector("textarea, select, input:not([type=hidden])");
    var target = field || details.querySelector("button[type=submit]");
    if (target) { target.focus(); }
    details.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    /* A key console.js took already (the second key of "g" + key, ...) is not ours. */
    if (event.defaultPrevented) { return; }
    if (event.isComposing || event.keyCode === 229) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target) || overlayOpen()) { return; }
    var key = String(event.key || "");
    if (key.length !== 1) { return; }
    var details = document.querySelector('details[data-key="' + key.replace(/["\\]/g, "") + '"]');
    if (details) {
      event.preventDefault();
      openAction(details);
      return;
    }
    var link = document.querySelector('[data-case-key="' + key.replace(/["\\]/g, "") + '"]');
    if (link) {
      event.preventDefault();
      link.click();
    }
  });
})();
