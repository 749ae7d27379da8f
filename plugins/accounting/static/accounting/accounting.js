// Accounting pages: "Add line" on the invoice form and "Print" on the print page.
// Both pages work without it (the form offers blank lines; browsers have a Print command).
(function () {
  "use strict";
  var form = document.getElementById("invoice-form");
  var slot = document.getElementById("add-line-slot");
  if (form && slot) {
    // Made here rather than in the page: without JavaScript there is no button that does nothing.
    var body = form.querySelector("#invoice-lines tbody");
    var add = document.createElement("button");
    add.type = "button";
    add.className = "secondary";
    add.id = "add-line";
    add.textContent = slot.getAttribute("data-label");
    slot.appendChild(add);
    add.addEventListener("click", function () {
      var rows = body.querySelectorAll("tr.line");
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      copy.querySelectorAll("select").forEach(function (select) {
        select.value = select.getAttribute("data-default") || "";
      });
      copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
      body.appendChild(copy);
      copy.querySelector("input").focus();
    });
  }
  var print = document.getElementById("print-button");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
})();
