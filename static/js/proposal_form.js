// Proposal form: add and remove milestone rows in the browser and show the running total.
// The server validates everything again; this only makes the form pleasant to fill in.
(function () {
  "use strict";

  const form = document.getElementById("proposal-form");
  if (!form) return;

  const prefix = "milestones";
  const rowsBox = form.querySelector("[data-rows]");
  const template = document.getElementById("milestone-row-template");
  const totalForms = form.querySelector(`#id_${prefix}-TOTAL_FORMS`);
  const addButton = form.querySelector("[data-add-row]");
  const totalOutput = document.getElementById("proposal-total");
  const totalNote = document.getElementById("proposal-total-note");
  const currency = form.dataset.currency || "USD";
  const maxRows = parseInt(form.dataset.maxRows, 10) || 10;
  const rowPattern = new RegExp(`${prefix}-(\\d+|__prefix__)-`, "g");
  const formatter = new Intl.NumberFormat(undefined, { style: "currency", currency: currency });

  // "1,250.50" -> 125050 minor units, or null when the text is not a valid amount.
  function minorUnits(text) {
    const cleaned = text.trim();
    const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?$/.exec(cleaned);
    if (!match) return null;
    const whole = parseInt(match[1].replace(/,/g, ""), 10);
    const fraction = parseInt((match[2] || "").padEnd(2, "0"), 10);
    return whole * 100 + fraction;
  }

  function rows() {
    return Array.from(rowsBox.querySelectorAll("[data-row]"));
  }

  // Give every row's fields consecutive indexes, so Django's formset reads them in order.
  function renumber() {
    rows().forEach(function (row, index) {
      row.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach(function (el) {
        ["name", "id", "for", "aria-describedby"].forEach(function (attr) {
          const value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(rowPattern, `${prefix}-${index}-`));
        });
      });
      const label = row.querySelector("[data-row-label]");
      if (label) label.textContent = `Milestone ${index + 1}`;
      const remove = row.querySelector("[data-remove-row]");
      if (remove) remove.hidden = rows().length <= 1;
    });
    totalForms.value = String(rows().length);
    addButton.hidden = false;
    addButton.disabled = rows().length >= maxRows;
    updateTotal();
  }

  function updateTotal() {
    let total = 0;
    let invalid = 0;
    rows().forEach(function (row) {
      const input = row.querySelector(`input[name$="-amount"]`);
      if (!input || !input.value.trim()) return;
      const amount = minorUnits(input.value);
      if (amount === null) invalid += 1;
      else total += amount;
    });
    totalOutput.value = formatter.format(total / 100);
    totalOutput.textContent = totalOutput.value;
    totalNote.textContent = invalid ? `(${invalid} amount${invalid > 1 ? "s are" : " is"} not valid yet)` : "";
  }

  addButton.addEventListener("click", function () {
    if (rows().length >= maxRows) return;
    const fragment = template.content.cloneNode(true);
    rowsBox.appendChild(fragment);
    renumber();
    const added = rows()[rows().length - 1];
    const first = added.querySelector("input, textarea");
    if (first) first.focus();
  });

  rowsBox.addEventListener("click", function (event) {
    const button = event.target.closest("[data-remove-row]");
    if (!button || rows().length <= 1) return;
    button.closest("[data-row]").remove();
    renumber();
    addButton.focus();
  });

  rowsBox.addEventListener("input", function (event) {
    if (event.target.matches(`input[name$="-amount"]`)) updateTotal();
  });

  renumber();
})();
