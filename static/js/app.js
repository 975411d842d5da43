/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // Copy-to-clipboard buttons: <button data-copy="#target">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent.trim();
    var done = function () {
      var label = button.getAttribute("data-copied") || "Copied";
      var original = button.textContent;
      button.textContent = label;
      setTimeout(function () { button.textContent = original; }, 1600);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  });

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the key stays selectable */ }
    document.body.removeChild(area);
  }

  // Confirm destructive actions: <form data-confirm="Are you sure?">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Choices that apply at once (the language, forum notification levels): <select data-autosubmit>.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });

  // Close open <details class="menu"> when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // Icon upload preview.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches("input[type=file][data-preview]")) return;
    var preview = document.querySelector(input.getAttribute("data-preview"));
    if (!preview || !input.files || !input.files[0]) return;
    var url = URL.createObjectURL(input.files[0]);
    preview.innerHTML = "";
    var img = document.createElement("img");
    img.src = url;
    img.alt = "";
    preview.appendChild(img);
  });

  // Show/hide the per-call pricing fields with the pricing model.
  function syncPricing() {
    var select = document.querySelector("select[name=pricing_model]");
    if (!select) return;
    document.querySelectorAll("[data-pricing=per_call]").forEach(function (el) {
      el.hidden = select.value !== "per_call";
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=pricing_model]")) syncPricing();
  });
  document.addEventListener("DOMContentLoaded", syncPricing);

  // In-page tabs (the app page): mark the tab of the section being read.
  document.addEventListener("DOMContentLoaded", function () {
    var links = Array.prototype.slice.call(document.querySelectorAll(".tabs a[href^='#']"));
    var sections = links.map(function (a) { return document.getElementById(a.getAttribute("href").slice(1)); });
    if (!links.length) return;
    var pending = false;
    function update() {
      pending = false;
      var current = 0;
      sections.forEach(function (section, index) {
        if (section && section.getBoundingClientRect().top < 160) current = index;
      });
      links.forEach(function (a, index) { a.classList.toggle("active", index === current); });
    }
    window.addEventListener("scroll", function () {
      if (!pending) { pending = true; window.requestAnimationFrame(update); }
    }, {passive: true});
    update();
  });
})();

/* Code blocks wider than their box scroll sideways: make them focusable so keyboard users can scroll them too. */
(function () {
  function focusableScrollers() {
    document.querySelectorAll("pre").forEach(function (pre) {
      if (pre.scrollWidth > pre.clientWidth || pre.scrollHeight > pre.clientHeight) {
        if (!pre.hasAttribute("tabindex")) pre.setAttribute("tabindex", "0");
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusableScrollers);
  else focusableScrollers();
  window.addEventListener("resize", focusableScrollers);
})();
