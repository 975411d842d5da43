/* The app page's live price: polls the price endpoint every 5 s and shows the texts the server formatted
   (`price_display` in the one money format, `demand_display` with the catalogue's plural forms). */
(function () {
  "use strict";
  var box = document.getElementById("price-box");
  var price = document.getElementById("live-price"), demand = document.getElementById("live-demand");
  if (!box || !box.dataset.url || !price) return;

  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
      if (!d) return;
      price.textContent = d.price_display;
      price.dataset.amount = d.price;
      if (demand) demand.textContent = d.demand_display;
    }).catch(function () {});
  }
  refresh();
  setInterval(refresh, 5000);
})();
