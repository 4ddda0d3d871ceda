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
