/* Closeloop console: the little behaviour htmx does not cover. Pages carry no inline
   script (the Content-Security-Policy forbids it); this file is loaded with `defer`. */
(function () {
  "use strict";

  var SAFE_METHODS = { GET: true, HEAD: true, OPTIONS: true };

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /* Every unsafe htmx request repeats the page's CSRF token in the header the server
     checks (plain forms carry it in their hidden `_csrf_token` field). */
  document.addEventListener("htmx:configRequest", function (event) {
    var verb = String(event.detail.verb || "").toUpperCase();
    if (!SAFE_METHODS[verb]) {
      event.detail.headers["X-CSRFToken"] = csrfToken();
    }
  });
})();
