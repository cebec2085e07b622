/* Register a case (screen 1): keyboard entry, the customer lookup as you type, files
   dropped on the form. Loaded with `defer` by register/new.html; no inline script. */
(function () {
  "use strict";

  var LOOKUP_INPUTS = { "customer.phone": true, "customer.email": true };

  function form() {
    return document.querySelector("form[data-register-form]");
  }

  /* Ctrl+Enter (or Cmd+Enter) registers the case from any field, the description too. */
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var owner = target && target.closest ? target.closest("form[data-register-form]") : null;
    if (!owner || event.key !== "Enter" || !(event.ctrlKey || event.metaKey) || event.isComposing) {
      return;
    }
    event.preventDefault();
    if (owner.requestSubmit) {
      owner.requestSubmit();
    } else {
      owner.submit();
    }
  });

  /* Phone, e-mail or category changed: ask for the known customer (the server answers
     the same exact match intake makes). */
  function askLookup(event) {
    var name = event.target && event.target.name;
    if (!LOOKUP_INPUTS[name] && !(event.type === "change" && name === "category_id")) {
      return;
    }
    var region = document.getElementById("customer-lookup");
    if (region && window.htmx) {
      window.htmx.trigger(region, "lookup");
    }
  }
  document.addEventListener("input", askLookup);
  document.addEventListener("change", askLookup);

  /* After a refused submit the form comes back with the problems: htmx swaps 4xx
     answers of this form too, and the focus goes to the list of problems. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (event.detail.elt === form() && status >= 400 && status < 500 && status !== 401) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    var problems = document.getElementById("register-problems");
    if (problems) {
      problems.focus();
    }
    listFiles();
  });

  /* Files dropped anywhere on the drop zone join those chosen with the file input. */
  function fileInput() {
    return document.getElementById("f-files");
  }

  function listFiles() {
    var input = fileInput();
    var list = document.querySelector("[data-dropped]");
    if (!input || !list) {
      return;
    }
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
      list.appendChild(item);
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target === fileInput()) {
      listFiles();
    }
  });

  function dropzone(event) {
    return event.target && event.target.closest ? event.target.closest("[data-dropzone]") : null;
  }

  document.addEventListener("dragover", function (event) {
    var zone = dropzone(event);
    if (zone) {
      event.preventDefault();
      zone.classList.add("register-dropzone-active");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropzone(event);
    if (zone) {
      zone.classList.remove("register-dropzone-active");
    }
  });
  document.addEventListener("drop", function (event) {
    var zone = dropzone(event);
    var input = fileInput();
    if (!zone || !input || !event.dataTransfer) {
      return;
    }
    event.preventDefault();
    zone.classList.remove("register-dropzone-active");
    var all = new DataTransfer();
    Array.prototype.forEach.call(input.files || [], function (file) { all.items.add(file); });
    Array.prototype.forEach.call(event.dataTransfer.files, function (file) { all.items.add(file); });
    input.files = all.files;
    listFiles();
  });
})();
