/* Training console: the live cost estimate on the new-job form, and the live job page (progress, chart, logs).
   Plain JS, no libraries; it reads the same JSON API that outside clients use. */
(function () {
  "use strict";

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* ---- New job form: re-estimate whenever an input changes. ---- */
  var form = document.getElementById("job-form");
  if (form) {
    var bases = JSON.parse(document.getElementById("base-versions").textContent || "{}");
    var price = document.getElementById("estimate-price");
    var detail = document.getElementById("estimate-detail");
    var detailTemplate = detail.dataset.template;
    var timer = null;

    var applyPlaceholders = function () {
      var base = bases[form.elements.base_version.value];
      if (!base) return;
      form.querySelectorAll("input[data-hp]").forEach(function (input) {
        input.placeholder = input.getAttribute("data-default-" + base.framework);
      });
    };

    var estimate = function () {
      var base = bases[form.elements.base_version.value];
      if (!base || !form.elements.dataset.value) return;
      var hyperparameters = {};
      form.querySelectorAll("input[data-hp]").forEach(function (input) {
        if (input.value !== "") hyperparameters[input.dataset.hp] = input.value;
      });
      fetch(form.getAttribute("data-estimate-url"), {  // not form.dataset: a field is named "dataset"
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken()},
        body: JSON.stringify({base_app: base.app, base_version: base.version, dataset: Number(form.elements.dataset.value),
                              hyperparameters: hyperparameters})
      }).then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
        .then(function (result) {
          var ok = result[0], body = result[1];
          if (!ok) { detail.textContent = body.error ? body.error.message : ""; price.classList.add("muted"); return; }
          price.classList.remove("muted");
          price.innerHTML = Number(body.price).toFixed(4) + " <small>" + body.currency.toUpperCase() + "</small>";
          detail.textContent = fill(detailTemplate, {seconds: body.estimated_seconds, steps: body.steps,
                                                     hardware: body.hardware.toUpperCase()});
        });
    };
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(estimate, 250); });
    form.addEventListener("change", function () { applyPlaceholders(); estimate(); });
    applyPlaceholders();
  }

  /* ---- Job page: poll the job and redraw. ---- */
  var root = document.getElementById("job");
  if (!root) return;
  var svg = document.getElementById("loss-chart");
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 240, PAD = {l: 42, r: 40, t: 14, b: 26};

  function el(name, attrs, text) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawChart(history, totalSteps) {
    var points = (history && history.loss) || [];
    var epochs = (history && history.epochs) || [];
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    document.getElementById("chart-empty").hidden = points.length > 0;
    if (!points.length) return;
    var maxStep = Math.max(totalSteps || 0, points[points.length - 1][0], 1);
    var maxLoss = Math.max.apply(null, points.map(function (p) { return p[1]; })) * 1.08 || 1;
    var x = function (step) { return PAD.l + (W - PAD.l - PAD.r) * step / maxStep; };
    var y = function (loss) { return H - PAD.b - (H - PAD.t - PAD.b) * loss / maxLoss; };
    var yAcc = function (acc) { return H - PAD.b - (H - PAD.t - PAD.b) * acc; };
    for (var i = 0; i <= 4; i++) {
      var value = maxLoss * i / 4, yy = y(value);
      svg.appendChild(el("line", {"class": "grid-line", x1: PAD.l, x2: W - PAD.r, y1: yy, y2: yy}));
      svg.appendChild(el("text", {"class": "axis-label", x: PAD.l - 6, y: yy + 4, "text-anchor": "end"}, value.toFixed(2)));
      svg.appendChild(el("text", {"class": "axis-label", x: W - PAD.r + 6, y: yAcc(i / 4) + 4}, (25 * i) + "%"));
    }
    epochs.forEach(function (row) {
      svg.appendChild(el("line", {"class": "epoch-line", x1: x(row.step), x2: x(row.step), y1: PAD.t, y2: H - PAD.b}));
    });
    svg.appendChild(el("text", {"class": "axis-label", x: W - PAD.r, y: H - 6, "text-anchor": "end"}, maxStep));
    svg.appendChild(el("text", {"class": "axis-label", x: PAD.l, y: H - 6}, "0"));
    var line = points.map(function (p) { return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); }).join(" ");
    var area = x(points[0][0]).toFixed(1) + "," + (H - PAD.b) + " " + line + " " +
      x(points[points.length - 1][0]).toFixed(1) + "," + (H - PAD.b);
    svg.appendChild(el("polygon", {"class": "loss-area", points: area}));
    svg.appendChild(el("polyline", {"class": "loss-line", points: line}));
    if (epochs.length) {
      var acc = epochs.map(function (row) { return x(row.step).toFixed(1) + "," + yAcc(row.eval_accuracy).toFixed(1); });
      svg.appendChild(el("polyline", {"class": "acc-line", points: acc.join(" ")}));
      epochs.forEach(function (row) {
        var dot = el("circle", {"class": "acc-dot", cx: x(row.step), cy: yAcc(row.eval_accuracy), r: 4.5});
        dot.appendChild(el("title", {}, (100 * row.eval_accuracy).toFixed(1) + "%"));
        svg.appendChild(dot);
      });
    }
  }

  var history = JSON.parse(document.getElementById("job-history").textContent || "{}");
  var statusLabels = JSON.parse(document.getElementById("job-statuses").textContent || "{}");
  var progressText = document.getElementById("progress-text");
  drawChart(history, 0);

  function pct(value) { return Math.round(100 * value) + "%"; }

  function render(job) {
    var bar = document.getElementById("progress-bar");
    bar.style.width = pct(job.progress);
    document.getElementById("progress").setAttribute("aria-valuenow", Math.round(100 * job.progress));
    document.getElementById("progress-pct").textContent = pct(job.progress);
    progressText.textContent = fill(progressText.dataset.template, {step: job.step, total: job.total_steps,
                                                                    epoch: job.epoch, epochs: root.dataset.epochs});
    if (job.metrics.loss !== null) document.getElementById("m-loss").textContent = job.metrics.loss.toFixed(4);
    if (job.metrics.eval_accuracy !== null) document.getElementById("m-acc").textContent = pct(job.metrics.eval_accuracy);
    document.getElementById("m-epoch").textContent = job.epoch + "/" + root.dataset.epochs;
    var logs = document.getElementById("logs");
    var atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 8;
    logs.textContent = job.logs;
    if (atBottom) logs.scrollTop = logs.scrollHeight;
    var tbody = document.querySelector("#epochs tbody");
    if (job.history.epochs.length) {
      tbody.innerHTML = "";
      job.history.epochs.forEach(function (row) {
        var tr = document.createElement("tr");
        [row.epoch, row.loss.toFixed(4), row.eval_loss.toFixed(4), pct(row.eval_accuracy)].forEach(function (value) {
          var td = document.createElement("td"); td.textContent = value; tr.appendChild(td);
        });
        tbody.appendChild(tr);
      });
    }
    drawChart(job.history, job.total_steps);
  }

  function poll() {
    fetch(root.dataset.api, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (job) {
        render(job);
        var badge = document.getElementById("job-status");
        if (job.status !== badge.dataset.status) {
          if (["succeeded", "failed", "canceled"].indexOf(job.status) >= 0) {
            // A final status brings new actions (publish, errors): let the server render them.
            window.location.reload();
            return;
          }
          badge.dataset.status = job.status;
          badge.className = "badge badge-lg badge-job-" + job.status;
          badge.textContent = statusLabels[job.status] || job.status;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (root.dataset.active === "1") setTimeout(poll, 700);
})();
