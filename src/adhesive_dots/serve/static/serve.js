/* adhesive-dots web catalog (adots serve): the dot table's "compare" needs exactly two dots.
   Pages work without this script; it only keeps the button honest. */
(function () {
  "use strict";
  var form = document.getElementById("compare-form");
  if (!form) { return; }
  var button = document.getElementById("compare-selected");
  var note = document.getElementById("compare-note");
  function boxes() { return Array.prototype.slice.call(form.querySelectorAll("input[name=dot]")); }
  function update() {
    var n = boxes().filter(function (b) { return b.checked; }).length;
    button.disabled = n !== 2;
    note.textContent = n === 2 ? "" : "select two dots (" + n + " selected)";
  }
  form.addEventListener("change", update);
  update();
}());
