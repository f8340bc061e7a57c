// Keyboard shortcuts of the review page (the keys are listed on the page). No inline script: the CSP allows
// only this file.
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }
  function go(url) { if (url) { window.location.assign(url); } }
  document.addEventListener("DOMContentLoaded", function () {
    // A name typed into the quick form also goes with the override and reference forms.
    var inline = document.getElementById("reviewer-inline");
    if (inline) {
      inline.addEventListener("input", function () {
        document.querySelectorAll(".mirror-reviewer").forEach(function (el) { el.value = inline.value; });
      });
    }
    var reference = document.getElementById("reference-text");
    if (reference) {
      reference.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          reference.form.requestSubmit();
        }
      });
    }
    var score = document.getElementById("override-score");
    if (score) {
      // Enter on the score moves to the note; Enter on the note sends the override.
      score.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { event.preventDefault(); document.getElementById("override-note").focus(); }
      });
    }
    document.querySelectorAll("select[data-filter]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape" && typing(document.activeElement)) { document.activeElement.blur(); return; }
    if (typing(document.activeElement)) { return; }
    var crumbs = document.querySelector("nav.crumbs");
    var key = event.key;
    if (key === "Enter" && !crumbs) {
      var start = document.getElementById("start");
      if (start) { event.preventDefault(); go(start.href); }
      return;
    }
    if (!crumbs) { return; }
    if (key === "j") { go(crumbs.dataset.next); return; }
    if (key === "k") { go(crumbs.dataset.previous); return; }
    if (key === "q") { go(crumbs.dataset.queue); return; }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) { return; }
    event.preventDefault();
    if (target.tagName === "BUTTON") {
      target.form.requestSubmit(target);
    } else {
      target.focus();
    }
  });
})();
