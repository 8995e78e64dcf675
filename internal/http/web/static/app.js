// Gatehouse dashboard: small progressive enhancements. Every page works
// without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Copy buttons: data-copy names the id of the input to copy.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var input = document.getElementById(btn.getAttribute("data-copy"));
      var status = document.querySelector("[data-copy-status]");
      if (!input) { return; }
      var done = function () {
        btn.textContent = "Copied";
        if (status) { status.textContent = "The key is on your clipboard."; }
      };
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  // Close an open confirm step with Escape, or by clicking elsewhere.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    document.querySelectorAll("details.confirm[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary");
      if (s) { s.focus(); }
    });
  });
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.confirm[open]").forEach(function (d) {
      if (!d.contains(e.target)) { d.removeAttribute("open"); }
    });
  });

  // A reviewed role edit: bring what saving changes into view.
  var impact = document.getElementById("impact");
  if (impact) { impact.focus(); }

  // Ticking a project chooses "Full access" unless a mode is chosen.
  document.querySelectorAll(".project-head input[type=checkbox]").forEach(function (cb) {
    cb.addEventListener("change", function () {
      var body = cb.closest(".project").querySelector(".project-body");
      if (!cb.checked || !body) { return; }
      var radios = body.querySelectorAll("input[type=radio]");
      var any = Array.prototype.some.call(radios, function (r) { return r.checked; });
      if (!any && radios.length) { radios[0].checked = true; }
    });
  });
})();
