// Journal entry form: add/remove lines and live debit/credit totals. The form works without it.
(function () {
  "use strict";
  var form = document.getElementById("entry-form");
  if (!form) { return; }
  var body = form.querySelector("#entry-lines tbody");

  function cents(value) {
    var text = (value || "").trim().replace(",", ".");
    if (!/^\d+(\.\d{0,2})?$/.test(text)) { return text === "" ? 0 : NaN; }
    var parts = text.split(".");
    return parseInt(parts[0], 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }
  function format(total) {
    if (isNaN(total)) { return "?"; }
    return (total / 100).toFixed(2);
  }
  function sum(selector) {
    var total = 0;
    body.querySelectorAll(selector).forEach(function (input) { total += cents(input.value); });
    return total;
  }
  function update() {
    var debit = sum(".amount-debit"), credit = sum(".amount-credit");
    document.getElementById("total-debit").textContent = format(debit);
    document.getElementById("total-credit").textContent = format(credit);
    var status = document.getElementById("balance-status");
    if (isNaN(debit) || isNaN(credit)) {
      status.textContent = "Amounts must be numbers with at most 2 decimals";
      status.className = "field-error";
    } else if (debit === credit && debit > 0) {
      status.textContent = "Balanced";
      status.className = "ok";
    } else {
      status.textContent = "Difference: " + format(Math.abs(debit - credit));
      status.className = "field-error";
    }
  }
  function bind(row) {
    row.querySelector(".remove-line").addEventListener("click", function () {
      if (body.querySelectorAll("tr.line").length > 2) { row.remove(); update(); }
    });
  }
  document.getElementById("add-line").addEventListener("click", function () {
    var rows = body.querySelectorAll("tr.line");
    var copy = rows[rows.length - 1].cloneNode(true);
    copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    copy.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
    body.appendChild(copy);
    bind(copy);
    copy.querySelector("select").focus();
  });
  body.querySelectorAll("tr.line").forEach(bind);
  body.addEventListener("input", update);
  update();
})();
