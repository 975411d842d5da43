/* The app page's API tab: switch languages, copy a snippet (clipboard API, else a selection + execCommand). */
(function () {
  document.querySelectorAll(".api-tab").forEach(function (tab) {
    var buttons = tab.querySelectorAll(".api-lang");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        buttons.forEach(function (other) {
          var active = other === button;
          other.classList.toggle("active", active);
          other.setAttribute("aria-selected", active ? "true" : "false");
          document.getElementById("api-snippet-" + other.dataset.lang).hidden = !active;
        });
      });
    });
    tab.querySelectorAll(".api-copy").forEach(function (copy) {
      var label = copy.textContent;
      copy.addEventListener("click", function () {
        var code = document.getElementById(copy.dataset.target);
        var text = code.textContent;
        function done() {
          copy.textContent = copy.dataset.copied;
          copy.classList.add("copied");
          setTimeout(function () { copy.textContent = label; copy.classList.remove("copied"); }, 2000);
        }
        function fallback() {
          var range = document.createRange();
          range.selectNodeContents(code);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          try { document.execCommand("copy"); } catch (e) { /* the text stays selected for Ctrl+C */ }
          done();
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, fallback);
        } else {
          fallback();
        }
      });
    });
  });
})();
