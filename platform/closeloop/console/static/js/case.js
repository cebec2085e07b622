/* Closeloop console, case page: one key per common action. The key opens that action's
   form (a <details data-action data-key>) and puts the cursor in its first field.
   Single keys stay silent while an input method composes and inside form fields; with
   Ctrl, Alt or Meta they are the browser's (`closeloop.typing`, from console.js). Loaded with
   `defer`; no inline script. */
(function () {
  "use strict";

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
    if (window.closeloop.typing(event.target) || overlayOpen()) { return; }
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

  /* The assign form: the handler list is grouped by department. Picking a department
     puts its handlers first; picking a handler while no department is chosen fills in
     the handler's department. */
  function assignPicker(form) {
    var department = form.querySelector('select[name="lead_department_id"]');
    var handler = form.querySelector("select[data-handler-picker]");
    if (!department || !handler) { return; }
    department.addEventListener("change", function () {
      var chosen = department.value;
      var groups = handler.querySelectorAll("optgroup");
      for (var i = 0; i < groups.length; i += 1) {
        if (chosen && groups[i].getAttribute("data-department") === chosen) {
          handler.insertBefore(groups[i], handler.querySelector("optgroup"));
          break;
        }
      }
    });
    handler.addEventListener("change", function () {
      var option = handler.options[handler.selectedIndex];
      var own = option ? option.getAttribute("data-department") : "";
      if (!department.value && own && department.querySelector('option[value="' + own + '"]')) {
        department.value = own;
      }
    });
  }

  var pickers = document.querySelectorAll("select[data-handler-picker]");
  for (var p = 0; p < pickers.length; p += 1) {
    if (pickers[p].form) { assignPicker(pickers[p].form); }
  }
})();
