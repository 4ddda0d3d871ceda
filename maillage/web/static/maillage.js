// Search as you type on list pages: the form still works without this script. After a pause in
// typing, the page is fetched with the new query and only its results region is replaced.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-live-search]");
  Array.prototype.forEach.call(forms, function (form) {
    var results = document.getElementById("resultats");
    var search = form.querySelector("input[type=search]");
    if (!results || !search || !window.fetch || !window.DOMParser) { return; }
    var timer = null;
    var latest = 0;
    function refresh() {
      var params = new URLSearchParams(new FormData(form));
      params.delete("page");
      var url = form.getAttribute("action") + "?" + params.toString();
      var ticket = ++latest;
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null || ticket !== latest) { return; }
          var page = new DOMParser().parseFromString(html, "text/html");
          var fresh = page.getElementById("resultats");
          if (fresh) {
            results.innerHTML = fresh.innerHTML;
            window.history.replaceState(null, "", url);
          }
        })
        .catch(function () { /* keep the current results; submitting the form still works */ });
    }
    search.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    });
    Array.prototype.forEach.call(form.querySelectorAll("select, input[type=checkbox]"), function (el) {
      el.addEventListener("change", refresh);
    });
  });
}());

// The menu on a phone: folded under its « Menu » button (a disclosure); open groups close when
// one clicks elsewhere or presses Escape. Without this script the whole menu shows.
(function () {
  "use strict";
  var nav = document.querySelector(".main-nav");
  if (!nav) { return; }
  var button = nav.querySelector(".menu-button");
  var small = window.matchMedia("(max-width: 48rem)");
  function fold(folded) {
    nav.classList.toggle("folded", folded);
    button.setAttribute("aria-expanded", folded ? "false" : "true");
  }
  if (button) {
    button.hidden = false;
    fold(small.matches);
    button.addEventListener("click", function () { fold(!nav.classList.contains("folded")); });
    small.addEventListener("change", function (event) { fold(event.matches); });
  }
  function closeGroups(except) {
    Array.prototype.forEach.call(nav.querySelectorAll(".nav-group details[open]"), function (d) {
      if (d !== except) { d.open = false; }
    });
  }
  document.addEventListener("click", function (event) {
    closeGroups(event.target.closest ? event.target.closest(".nav-group details") : null);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeGroups(null); }
  });
}());

// Tables reflow on small screens: each cell learns its column's name (see .table.reflow).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("table.table"), function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) { return; }
    // The visible name only: sort links add « trier par ordre croissant » for screen readers.
    var names = Array.prototype.map.call(heads, function (th) {
      var copy = th.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll(".visually-hidden"), function (hidden) { hidden.remove(); });
      return copy.textContent.replace(/\s+/g, " ").trim();
    });
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (names[index] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", names[index]); }
      });
    });
    table.classList.add("reflow");
  });
}());

// Wide report tables scroll inside their frame on a phone: a frame that scrolls must be
// reachable with the keyboard (RGAA), so it joins the tab order only while it scrolls.
(function () {
  "use strict";
  var tables = document.querySelectorAll(".report table");
  function update() {
    Array.prototype.forEach.call(tables, function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else {
        table.removeAttribute("tabindex");
      }
    });
  }
  if (tables.length) {
    update();
    window.addEventListener("resize", update);
  }
}());

// A form sent back with errors: its summary takes the focus, so a screen reader announces it
// and the keyboard starts from the list of links to each wrong field (RGAA 11.10).
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
}());
