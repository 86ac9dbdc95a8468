/* The claims ledger's filter by notebook and verdict (course_utils/tools/website_ledger.py).
   Offline, no library. Without JavaScript the form stays hidden and the page's overview table
   and "By verdict" lists do the same job with plain links. */
(function () {
  "use strict";

  function setUp(form) {
    var notebook = form.querySelector("#ledger-notebook");
    var verdict = form.querySelector("#ledger-verdict");
    var count = form.querySelector(".ledger-filter-count");
    var rows = Array.prototype.slice.call(
      document.querySelectorAll("table.ledger-table tr[data-verdict]")
    );
    var tables = Array.prototype.slice.call(document.querySelectorAll("table.ledger-table"));

    function apply() {
      var shown = 0;
      rows.forEach(function (row) {
        var keep =
          (!notebook.value || row.getAttribute("data-notebook") === notebook.value) &&
          (!verdict.value || row.getAttribute("data-verdict") === verdict.value);
        row.hidden = !keep;
        shown += keep ? 1 : 0;
      });
      tables.forEach(function (table) {
        var section = table.closest("section");
        var any = table.querySelector("tr[data-verdict]:not([hidden])") !== null;
        if (section) {
          section.hidden = !any;
        }
      });
      count.textContent = shown + " of " + rows.length + " claims shown";
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    notebook.addEventListener("change", apply);
    verdict.addEventListener("change", apply);
    form.hidden = false;
    apply();
  }

  function start() {
    var form = document.querySelector("form.ledger-filter");
    if (form) {
      setUp(form);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
