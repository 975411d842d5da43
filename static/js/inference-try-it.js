/* "Try it" on the app page: a form from the task's input schema, live status, readable output. */
(function () {
  "use strict";
  const root = document.getElementById("try-it");
  const form = document.getElementById("try-form");
  if (!root || !form) return;
  const t = JSON.parse(document.getElementById("try-i18n").textContent);
  const extra = document.getElementById("try-i18n-extra");  // grades and output notices (issue 14)
  const tx = extra ? JSON.parse(extra.textContent) : { grades: {}, notices: {} };
  const task = root.dataset.task;
  const $ = (id) => document.getElementById(id);
  const statusEl = $("try-status"), output = $("try-output"), errorEl = $("try-error");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  let imageData = null;

  const LIFECYCLE = ["queued", "starting", "processing"];
  function setStatus(state) {
    statusEl.dataset.state = state;
    statusEl.textContent = t[state] || state;
    const busy = ["sending", "quoting", ...LIFECYCLE].includes(state);
    statusEl.classList.toggle("busy", busy);
    const steps = $("try-steps");
    if (steps) {
      steps.hidden = !LIFECYCLE.includes(state) && !["succeeded", "failed", "canceled"].includes(state);
      const at = LIFECYCLE.indexOf(state);
      steps.querySelectorAll("li").forEach((li, i) => {
        li.classList.toggle("done", at > i || state === "succeeded");
        li.classList.toggle("current", at === i);
      });
    }
  }
  // Paid apps: the price of the next run is shown before it is made ("This run costs $0.0021").
  const quoteEl = $("try-quote");
  async function showQuote() {
    if (!quoteEl) return null;
    try {
      const quote = await api(root.dataset.quoteUrl, { headers: { Accept: "application/json" } });
      quoteEl.textContent = Number(quote.price) === 0 ? t.runFree : t.runCosts.replace("%(price)s", formatMoney(quote.price));
      quoteEl.hidden = false;
      return quote;
    } catch (e) { return null; }
  }
  function formatMoney(value) {  // the site's one money format (static/js/money.js, as the `price` filter)
    return window.ModelMarket.money(value, t.currencySymbol, t.currencyCode);
  }
  function showError(message) {
    errorEl.hidden = !message;
    errorEl.textContent = message || "";
  }
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function bar(label, score, top, display) {
    const row = el("div", "try-bar" + (top ? " top" : ""));
    row.append(el("span", "label", label));
    const track = el("div", "track"), fill = el("div", "fill");
    fill.style.width = Math.max(0, Math.min(100, score * 100)).toFixed(1) + "%";
    track.append(fill);
    row.append(track, el("span", "score", display || (score * 100).toFixed(1) + "%"));
    row.title = label;
    return row;
  }
  function cosine(a, b) {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
    return dot / Math.sqrt(na * nb || 1);
  }

  function render(prediction, candidates) {
    output.replaceChildren();
    const out = prediction.output;
    if (prediction.status === "failed") { showError(prediction.error); return; }
    if (!out) return;
    if (task === "text-classification" || task === "image-classification") {
      const labels = out.labels || [];
      if (labels.length) {
        const head = el("div", "try-headline");
        head.append(el("span", "muted", t.top + ": "), el("strong", "", labels[0].label));
        output.append(head);
      }
      labels.forEach((item, i) => output.append(bar(item.label, item.score, i === 0)));
    } else if (task === "feature-extraction") {
      const vectors = (out.results || [out]).map((r) => r.embedding);
      output.append(el("div", "small muted", t.similarity + " (" + (out.results ? out.results[0].dim : out.dim) + "-d)"));
      const ranked = candidates.map((text, i) => ({ text, score: cosine(vectors[0], vectors[i + 1]) }))
        .sort((a, b) => b.score - a.score);
      ranked.forEach((item, i) => output.append(bar(item.text, Math.max(0, item.score), i === 0, item.score.toFixed(3))));
    } else if (task === "text-generation") {
      const box = el("div", "try-generated");
      box.append(el("span", "prompt", prediction.input.text), document.createTextNode(out.text || ""));
      output.append(box);
    } else if (task === "answer-grading") {
      const head = el("div", "try-grade");
      head.append(el("span", "muted", tx.grade + ": "), el("strong", "", tx.grades[out.grade] || out.grade));
      output.append(head, bar(tx.score, out.score, true, Number(out.score).toFixed(2)));
    }
    // A notice the model ships with (e.g. "not medical advice"), in the page's language when it is a known one.
    if (out.notice) output.append(el("p", "output-notice", tx.notices[out.notice] || out.notice));
  }
  function renderMetrics(p) {
    const m = p.metrics || {};
    const parts = [];
    if (m.queue_ms != null) parts.push(t.queue + " " + Math.round(m.queue_ms) + " ms");
    if (m.load_ms != null) parts.push(t.load + " " + Math.round(m.load_ms) + " ms");
    if (m.predict_ms != null) parts.push(t.predict + " " + Math.round(m.predict_ms) + " ms");
    if (m.batch_size != null) parts.push(t.batch + " " + m.batch_size);
    parts.push(t.price + " " + (Number(p.price) === 0 ? t.free : formatMoney(p.price)));
    $("try-metrics").textContent = parts.join(" · ");
    $("try-json").textContent = JSON.stringify(p, null, 2);
  }

  async function api(url, options) {
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
    return body;
  }
  async function poll(prediction, candidates) {
    while (!["succeeded", "failed", "canceled"].includes(prediction.status)) {
      setStatus(prediction.status);
      await new Promise((r) => setTimeout(r, 400));
      prediction = await api(prediction.urls.get, { headers: { Accept: "application/json" } });
    }
    return prediction;
  }
  function stream(prediction) {
    return new Promise((resolve) => {
      output.replaceChildren();
      const box = el("div", "try-generated streaming");
      const text = document.createTextNode("");
      box.append(el("span", "prompt", prediction.input.text), text);
      output.append(box);
      setStatus("processing");
      const source = new EventSource(new URL(prediction.urls.stream).pathname);
      source.addEventListener("output", (e) => { text.nodeValue += JSON.parse(e.data); });
      source.addEventListener("done", (e) => { source.close(); box.classList.remove("streaming"); resolve(JSON.parse(e.data)); });
      source.onerror = () => { source.close(); box.classList.remove("streaming"); resolve(api(prediction.urls.get, {})); };
    });
  }

  function buildInput() {
    if (task === "image-classification") {
      if (!imageData) throw new Error(t.needImage);
      return { input: { image: imageData }, candidates: [] };
    }
    if (task === "answer-grading") {
      return { input: { answer: $("try-answer").value.trim(), reference: $("try-reference").value.trim() },
               candidates: [] };
    }
    const text = $("try-text").value.trim();
    if (task === "feature-extraction") {
      const candidates = $("try-candidates").value.split("\n").map((s) => s.trim()).filter(Boolean).slice(0, 63);
      return { input: { texts: [text, ...candidates] }, candidates };
    }
    const input = { text };
    if (task === "text-generation") input.max_new_tokens = parseInt($("try-tokens").value, 10);
    return { input, candidates: [] };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    let built;
    try { built = buildInput(); } catch (e) { showError(e.message); return; }
    const run = $("try-run");
    run.disabled = true;
    setStatus("sending");
    try {
      const streaming = task === "text-generation";
      const body = { input: built.input, stream: streaming };
      // Every run is quoted first: the prediction runs at exactly this price or not at all (402).
      setStatus("quoting");
      const quote = await api(root.dataset.quoteUrl, { headers: { Accept: "application/json" } });
      body.quote_id = quote.quote_id;
      if (quoteEl) quoteEl.textContent = Number(quote.price) === 0 ? t.runFree : t.runCosts.replace("%(price)s", formatMoney(quote.price));
      setStatus("sending");
      if (root.dataset.version) body.version = root.dataset.version;
      let prediction = await api(root.dataset.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json",
                   Prefer: streaming ? "" : "wait=20" },
        body: JSON.stringify(body),
      });
      prediction = streaming ? await stream(prediction) : await poll(prediction, built.candidates);
      setStatus(prediction.status);
      render(prediction, built.candidates);
      renderMetrics(prediction);
      showQuote();  // the next run's price (demand moves it)
    } catch (e) {
      setStatus("failed");
      showError(e.message || t.network);
    } finally {
      run.disabled = false;
    }
  });

  showQuote();
  // "Run again" from a prediction page brings its text back (?text=…).
  const again = new URLSearchParams(window.location.search).get("text");
  if (again && $("try-text")) $("try-text").value = again;
  document.querySelectorAll(".try-example").forEach((button) =>
    button.addEventListener("click", () => { $("try-text").value = button.dataset.text; }));
  document.querySelectorAll(".try-pair").forEach((button) => button.addEventListener("click", () => {
    $("try-answer").value = button.dataset.answer;
    $("try-reference").value = button.dataset.reference;
    const question = $("try-question");
    if (question && button.dataset.question) question.textContent = question.textContent.split(": ")[0] + ": " + button.dataset.question;
  }));
  const tokens = $("try-tokens");
  if (tokens) tokens.addEventListener("input", () => { $("try-tokens-out").value = tokens.value; });

  const canvas = $("try-canvas");
  if (canvas) {
    const ctx = canvas.getContext("2d");
    const capture = () => { imageData = canvas.toDataURL("image/png").split(",")[1]; };
    const background = "#1b1f33", ink = "#f5d76e";
    function clear() { ctx.fillStyle = background; ctx.fillRect(0, 0, canvas.width, canvas.height); imageData = null; }
    function drawShape(shape) {
      clear();
      ctx.fillStyle = ink;
      const c = canvas.width / 2, r = canvas.width * 0.3;
      ctx.beginPath();
      if (shape === "circle") ctx.arc(c, c, r, 0, Math.PI * 2);
      else if (shape === "square") ctx.rect(c - r, c - r, 2 * r, 2 * r);
      else { ctx.moveTo(c, c - r); ctx.lineTo(c - r, c + r); ctx.lineTo(c + r, c + r); ctx.closePath(); }
      ctx.fill();
      capture();
    }
    // Free drawing with a mouse, a pen or a finger: pointer events cover all three (touch-action: none in CSS).
    let drawing = false, last = null;
    function point(event) {
      const box = canvas.getBoundingClientRect();
      return { x: (event.clientX - box.left) * canvas.width / box.width,
               y: (event.clientY - box.top) * canvas.height / box.height };
    }
    canvas.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      if (!drawing && canvas.dataset.fresh !== "0") { clear(); canvas.dataset.fresh = "0"; }
      drawing = true; last = point(event);
      if (canvas.setPointerCapture) canvas.setPointerCapture(event.pointerId);
      ctx.fillStyle = ink; ctx.beginPath(); ctx.arc(last.x, last.y, canvas.width / 28, 0, Math.PI * 2); ctx.fill();
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      event.preventDefault();
      const next = point(event);
      ctx.strokeStyle = ink; ctx.lineWidth = canvas.width / 14; ctx.lineCap = "round"; ctx.lineJoin = "round";
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(next.x, next.y); ctx.stroke();
      last = next;
    });
    const stop = () => { if (drawing) { drawing = false; capture(); } };
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);
    document.querySelectorAll(".try-shape").forEach((b) => b.addEventListener("click", () => {
      drawShape(b.dataset.shape); canvas.dataset.fresh = "1";
    }));
    const clearButton = $("try-clear");
    if (clearButton) clearButton.addEventListener("click", () => { clear(); canvas.dataset.fresh = "0"; });
    $("try-file").addEventListener("change", (e) => {
      const file = e.target.files[0];
      if (!file) return;
      const img = new Image();
      img.onload = () => { ctx.drawImage(img, 0, 0, canvas.width, canvas.height); capture(); canvas.dataset.fresh = "1"; };
      img.src = URL.createObjectURL(file);
    });
    drawShape("circle");
    canvas.dataset.fresh = "1";
  }
})();
