/* Upload a model with a progress bar: the form is posted with XHR, then we follow the server's answer. */
(function () {
  "use strict";
  document.querySelectorAll("input[data-artifact-upload]").forEach((input) => {
    const form = input.form;
    if (!form || form.dataset.uploadBound) return;
    form.dataset.uploadBound = "1";
    const box = input.parentElement.querySelector(".upload-progress");
    const fill = box.querySelector(".upload-fill"), bar = box.querySelector(".upload-track");
    const text = box.querySelector(".upload-text");
    form.addEventListener("submit", (event) => {
      if (!input.files.length || !window.FormData) return;  // let the browser post it (and show errors)
      event.preventDefault();
      const xhr = new XMLHttpRequest();
      box.hidden = false;
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        const pct = Math.round((e.loaded / e.total) * 100);
        fill.style.width = pct + "%";
        bar.setAttribute("aria-valuenow", String(pct));
        text.textContent = box.dataset.labelSending + " " + pct + "% (" + (e.loaded / 1048576).toFixed(1) + " / " +
          (e.total / 1048576).toFixed(1) + " MB)";
      });
      xhr.upload.addEventListener("load", () => { text.textContent = box.dataset.labelDone; });
      xhr.addEventListener("load", () => {
        if (xhr.responseURL && new URL(xhr.responseURL).pathname !== window.location.pathname) {
          window.location.href = xhr.responseURL;
        } else {
          document.open(); document.write(xhr.responseText); document.close();
        }
      });
      xhr.addEventListener("error", () => { form.submit(); });
      xhr.open(form.method || "POST", form.action || window.location.href);
      xhr.send(new FormData(form));
    });
  });
})();
