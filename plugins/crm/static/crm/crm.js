// CRM pages: drag and drop on the pipeline board, "Add line" on the quote form, "Print" on the
// print page. Every page works without it: each card has a Move form, the quote form offers blank
// lines, and browsers have a Print command.
(function () {
  "use strict";

  var board = document.getElementById("crm-board");
  if (board) {
    var dragged = null;

    var say = function (card, text) {
      var note = card.querySelector(".crm-card-note");
      if (!note) {
        note = document.createElement("p");
        note.className = "crm-card-note field-error";
        note.setAttribute("role", "alert");
        card.appendChild(note);
      }
      note.textContent = text;
    };

    // The same POST as the card's form, asking for JSON; the page is then reloaded so that the
    // columns' counts and totals come from the server.
    var move = function (form, card) {
      card.classList.add("moving");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin"
      }).then(function (response) {
        if (response.ok) {
          window.location.reload();
          return null;
        }
        return response.json().then(function (body) {
          card.classList.remove("moving");
          var error = body && body.error;
          var fields = (error && error.fields) || {};
          var messages = Object.keys(fields).map(function (key) { return fields[key].join("; "); });
          say(card, messages.join(" ") || (error && error.message) || board.getAttribute("data-move-failed"));
        });
      }).catch(function () {
        form.submit(); // no answer as JSON: the ordinary form post shows the outcome
      });
    };

    board.querySelectorAll(".crm-card[draggable=true]").forEach(function (card) {
      card.addEventListener("dragstart", function (event) {
        dragged = card;
        card.classList.add("dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
      });
      card.addEventListener("dragend", function () {
        card.classList.remove("dragging");
        dragged = null;
        board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
      });
    });

    board.querySelectorAll(".crm-column").forEach(function (column) {
      column.addEventListener("dragover", function (event) {
        if (!dragged) { return; }
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        column.classList.add("drop-target");
      });
      column.addEventListener("dragleave", function (event) {
        if (!column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
      });
      column.addEventListener("drop", function (event) {
        event.preventDefault();
        column.classList.remove("drop-target");
        var card = dragged;
        if (!card) { return; }
        var form = card.querySelector("form.crm-move-form");
        var stageId = column.getAttribute("data-stage-id");
        if (!form || form.elements.stage.value === stageId) { return; }
        form.elements.stage.value = stageId;
        column.querySelector(".crm-cards").appendChild(card);
        if (column.getAttribute("data-stage-kind") === "lost" && !form.elements.lost_reason.value.trim()) {
          // A lost deal needs a reason: open the card's form for it; Move sends it.
          card.querySelector("details.crm-move").open = true;
          say(card, board.getAttribute("data-reason-prompt"));
          form.elements.lost_reason.focus();
          return;
        }
        move(form, card);
      });
    });
  }

  var quoteForm = document.getElementById("quote-form");
  var slot = document.getElementById("add-line-slot");
  if (quoteForm && slot) {
    // Made here rather than in the page: without JavaScript there is no button that does nothing.
    var body = quoteForm.querySelector("#quote-lines tbody");
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
      copy.querySelectorAll(".field-error").forEach(function (p) { p.remove(); });
      copy.querySelectorAll(".line-amount").forEach(function (cell) { cell.textContent = ""; });
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
