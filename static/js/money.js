/* The site's one money format in the browser, for amounts that come from the API (a quote, a prediction's price):
   exactly what `money_text` in config/templatetags/mm.py (the `price` filter) writes for the same amount:
   `$25.00`, `$0.0021`, `$1,234.5678`, `−$0.50`; at least cents, up to 4 decimals from one unit up and 6 below
   (rounded half to even, as Python's Decimal); without a symbol `0.0021 CHF`. Text the server rendered is shown
   as it is, never formatted again (the live price box gets `price_display` from the server).
   tests/browser/test_money_format.py checks this against the filter. */
(function () {
  "use strict";

  function money(value, symbol, code) {
    var text = String(value).trim();
    var negative = text.charAt(0) === "-";
    if (negative || text.charAt(0) === "+") text = text.slice(1);
    var parts = text.split("."), whole = parts[0] || "0", frac = parts[1] || "";
    if (!/^\d+$/.test(whole) || !/^\d*$/.test(frac)) return String(value);
    var places = BigInt(whole) >= 1n ? 4 : 6;
    // Round to `places` decimals, half to even, on the digits themselves (no binary floating point).
    var scaled = BigInt(whole + frac), extra = frac.length - places;
    if (extra > 0) {
      var divisor = 10n ** BigInt(extra), quotient = scaled / divisor, rest = scaled % divisor;
      if (2n * rest > divisor || (2n * rest === divisor && quotient % 2n === 1n)) quotient += 1n;
      scaled = quotient;
    } else {
      scaled *= 10n ** BigInt(-extra);
    }
    var digits = scaled.toString().padStart(places + 1, "0");
    var intPart = digits.slice(0, digits.length - places), decimals = digits.slice(digits.length - places);
    decimals = decimals.replace(/0+$/, "");
    while (decimals.length < 2) decimals += "0";
    var grouped = intPart.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    var amount = grouped + "." + decimals;
    var shown = symbol ? symbol + amount : amount + " " + (code || "");
    var isZero = /^0*$/.test(whole + frac);
    return negative && !isZero ? "\u2212" + shown : shown;
  }

  window.ModelMarket = window.ModelMarket || {};
  window.ModelMarket.money = money;
})();
