/*
 * Budget simulator for the mmm_pipeline report. Plain JavaScript, no framework, no network.
 *
 * Revenue for a plan = base revenue per period (everything that is not paid media) plus, per
 * channel, the exported response curve interpolated at the spend. Curves are steady-state
 * (the same spend every period), so over the planning horizon the new spend phases in through
 * the adstock weights: in period h a share sum(w[0..h]) of the carried-over spend is new.
 * A category's list price moves its revenue by (1 + change) ** (revenue price elasticity).
 */
(function () {
  "use strict";

  var dataElement = document.getElementById("simulator-data");
  var root = document.getElementById("simulator-app");
  if (!dataElement || !root) {
    return;
  }
  var data = JSON.parse(dataElement.textContent);
  var channels = data.channels;
  var period = data.period;
  var spend = channels.map(function (c) { return clamp(c.current, 0, c.max); });
  var prices = data.prices || [];
  var priceChange = prices.map(function () { return 0; });
  var lockedTotal = null;
  var rows = [];
  var priceRows = [];

  function clamp(value, lo, hi) {
    return Math.min(Math.max(value, lo), hi);
  }

  function sum(values) {
    return values.reduce(function (a, b) { return a + b; }, 0);
  }

  /* Linear interpolation on a sorted grid; flat beyond the ends (the curve is not known there). */
  function interpolate(xs, ys, x) {
    var n = xs.length;
    if (x <= xs[0]) { return ys[0]; }
    if (x >= xs[n - 1]) { return ys[n - 1]; }
    var lo = 0;
    var hi = n - 1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] <= x) { lo = mid; } else { hi = mid; }
    }
    var t = (x - xs[lo]) / (xs[hi] - xs[lo]);
    return ys[lo] + t * (ys[hi] - ys[lo]);
  }

  function steadyContribution(channel, value) {
    return interpolate(channel.spend, channel.mean, value);
  }

  /* Contribution summed over the horizon when spend moves from current to value in period 0. */
  function horizonContribution(channel, value) {
    var weights = channel.weights;
    var phasedIn = 0;
    var total = 0;
    for (var h = 0; h < data.horizon; h++) {
      if (h < weights.length) { phasedIn += weights[h]; }
      var share = Math.min(phasedIn, 1);
      var level = share * value + (1 - share) * channel.current;
      total += steadyContribution(channel, level);
    }
    return total;
  }

  function planRevenue(plan) {
    var base = data.base_per_period === null ? 0 : data.base_per_period * data.horizon;
    return base + sum(channels.map(function (c, i) { return horizonContribution(c, plan[i]); }));
  }

  /* Revenue change over the horizon from the categories' list-price changes. */
  function priceEffect(changes) {
    return sum(prices.map(function (p, j) {
      return p.revenue_per_period * data.horizon * (Math.pow(1 + changes[j], p.elasticity) - 1);
    }));
  }

  var currentPlan = channels.map(function (c) { return c.current; });
  var currentRevenue = planRevenue(currentPlan);

  function formatAmount(value) {
    if (value === null || !isFinite(value)) { return "\u2013"; }
    var suffixes = [[1e12, "tn"], [1e9, "bn"], [1e6, "M"], [1e3, "k"]];
    for (var i = 0; i < suffixes.length; i++) {
      if (Math.abs(value) >= suffixes[i][0]) {
        return String(parseFloat((value / suffixes[i][0]).toPrecision(3))) + suffixes[i][1];
      }
    }
    return String(parseFloat(value.toPrecision(3)));
  }

  function formatSigned(value, text) {
    return (value > 0 ? "+" : value < 0 ? "\u2212" : "") + text;
  }

  /* With the total locked, spread the rest of the budget over the other channels in proportion
     to their current values, refilling from channels that hit their slider maximum. */
  function rebalance(moved) {
    var total = lockedTotal;
    spend[moved] = Math.min(spend[moved], total);
    var free = channels.map(function (_c, i) { return i; }).filter(function (i) { return i !== moved; });
    var remaining = total - spend[moved];
    for (var round = 0; round < channels.length && free.length; round++) {
      var freeSum = sum(free.map(function (i) { return spend[i]; }));
      free.forEach(function (i) {
        spend[i] = freeSum > 0 ? spend[i] * remaining / freeSum : remaining / free.length;
      });
      var capped = free.filter(function (i) { return spend[i] > channels[i].max; });
      if (!capped.length) { break; }
      capped.forEach(function (i) { spend[i] = channels[i].max; remaining -= channels[i].max; });
      free = free.filter(function (i) { return capped.indexOf(i) < 0; });
    }
  }

  function carryOverText(weights) {
    var cumulative = 0;
    var within = weights.length;
    for (var i = 0; i < weights.length; i++) {
      cumulative += weights[i];
      if (cumulative >= 0.9 - 1e-9) { within = i + 1; break; }
    }
    return "carry-over: " + Math.round(weights[0] * 100) + "% in the " + period + " of spend, 90% within " +
      within + " " + period + (within === 1 ? "" : "s");
  }

  function carryOverSparkline(weights) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    var barWidth = 6;
    var height = 18;
    var top = Math.max.apply(null, weights) || 1;
    svg.setAttribute("width", String(weights.length * (barWidth + 2)));
    svg.setAttribute("height", String(height));
    svg.setAttribute("aria-hidden", "true");
    weights.forEach(function (w, i) {
      var bar = document.createElementNS(ns, "rect");
      var h = Math.max(1, (w / top) * height);
      bar.setAttribute("x", String(i * (barWidth + 2)));
      bar.setAttribute("y", String(height - h));
      bar.setAttribute("width", String(barWidth));
      bar.setAttribute("height", String(h));
      bar.setAttribute("fill", "#0072b2");
      svg.appendChild(bar);
    });
    return svg;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function buildRow(channel, index) {
    var row = element("div", "sim-row");
    row.setAttribute("data-channel", channel.name);
    var name = element("div", "sim-name", channel.name);
    if (!channel.identified) {
      name.appendChild(element("small", "", "not identified: treat with caution"));
    }
    var slider = element("input");
    slider.type = "range";
    slider.min = "0";
    slider.max = String(channel.max);
    slider.step = String(channel.max / 200);
    slider.value = String(spend[index]);
    slider.setAttribute("data-channel", channel.name);
    slider.setAttribute("aria-label", "Spend per " + period + " on " + channel.name);
    slider.addEventListener("input", function () {
      spend[index] = clamp(parseFloat(slider.value), 0, channel.max);
      if (lockedTotal !== null) { rebalance(index); }
      update();
    });
    var spendLabel = element("div", "sim-spend");
    var effectLabel = element("div", "sim-effect");
    var carry = element("div", "sim-carry");
    carry.appendChild(carryOverSparkline(channel.weights));
    carry.appendChild(element("span", "", carryOverText(channel.weights)));
    [name, slider, spendLabel, effectLabel, carry].forEach(function (n) { row.appendChild(n); });
    return { row: row, slider: slider, spend: spendLabel, effect: effectLabel };
  }

  function buildPriceRow(price, index) {
    var row = element("div", "sim-row sim-price");
    row.setAttribute("data-category", price.category);
    var name = element("div", "sim-name", price.category + " list price");
    var slider = element("input");
    slider.type = "range";
    slider.min = String(-data.price_range);
    slider.max = String(data.price_range);
    slider.step = "0.01";
    slider.value = "0";
    slider.setAttribute("data-category", price.category);
    slider.setAttribute("aria-label", "Change of the " + price.category + " list price");
    slider.addEventListener("input", function () {
      priceChange[index] = clamp(parseFloat(slider.value), -data.price_range, data.price_range);
      update();
    });
    var changeLabel = element("div", "sim-spend");
    var effectLabel = element("div", "sim-effect");
    [name, slider, changeLabel, effectLabel].forEach(function (n) { row.appendChild(n); });
    return { row: row, slider: slider, change: changeLabel, effect: effectLabel };
  }

  function formatPct(fraction) {
    return formatSigned(fraction, Math.abs(100 * fraction).toFixed(1) + "%");
  }

  function warnings() {
    var out = [];
    prices.forEach(function (p, j) {
      if (priceChange[j] !== 0 && p.lo !== null && p.hi !== null && p.lo < 0 && p.hi > 0) {
        out.push(p.category + ": whether a price change raises or lowers its revenue is uncertain (revenue " +
          "elasticity between " + p.lo.toFixed(2) + " and " + p.hi.toFixed(2) + ").");
      }
    });
    channels.forEach(function (c, i) {
      if (c.saturation_spend && spend[i] > data.saturation_warning * c.saturation_spend) {
        out.push(c.name + ": spend is at " + Math.round(100 * spend[i] / c.saturation_spend) +
          "% of its saturation point; extra spend there buys little.");
      }
      if (!c.identified && Math.abs(spend[i] - c.current) > 1e-9 * Math.max(1, c.current)) {
        out.push(c.name + ": its effect is not identified, so the prediction for changing it is unreliable.");
      }
    });
    if (lockedTotal !== null && Math.abs(sum(spend) - lockedTotal) > 1e-6 * Math.max(1, lockedTotal)) {
      out.push("The locked total cannot be reached within the channels' curve ranges.");
    }
    return out;
  }

  function update() {
    channels.forEach(function (c, i) {
      var r = rows[i];
      r.slider.value = String(spend[i]);
      r.spend.textContent = formatAmount(spend[i]) + " / " + period;
      r.effect.textContent = "\u2192 " + formatAmount(steadyContribution(c, spend[i])) + " / " + period;
      var saturated = c.saturation_spend && spend[i] > data.saturation_warning * c.saturation_spend;
      r.row.classList.toggle("saturated", Boolean(saturated));
    });
    prices.forEach(function (p, j) {
      var r = priceRows[j];
      if (!r) { return; }
      r.slider.value = String(priceChange[j]);
      r.change.textContent = formatPct(priceChange[j]);
      r.effect.textContent = "\u2192 revenue " + formatPct(Math.pow(1 + priceChange[j], p.elasticity) - 1);
    });
    var revenue = planRevenue(spend) + priceEffect(priceChange);
    var lift = revenue - currentRevenue;
    document.getElementById("sim-total").textContent = formatAmount(sum(spend));
    document.getElementById("sim-revenue").textContent = formatAmount(revenue);
    var liftNode = document.getElementById("sim-lift");
    var pct = currentRevenue !== 0 ? Math.abs(100 * lift / currentRevenue).toFixed(1) + "%" : "";
    liftNode.textContent = formatSigned(lift, formatAmount(Math.abs(lift)) + (pct ? " (" + formatSigned(lift, pct) + ")" : ""));
    liftNode.className = lift > 1e-9 * Math.abs(currentRevenue) ? "up" : lift < -1e-9 * Math.abs(currentRevenue) ? "down" : "";
    var list = document.getElementById("sim-warnings");
    list.textContent = "";
    warnings().forEach(function (text) { list.appendChild(element("li", "", text)); });
  }

  function setPlan(plan) {
    plan.forEach(function (value, i) { spend[i] = clamp(value, 0, channels[i].max); });
    priceChange = prices.map(function () { return 0; });
    if (lockedTotal !== null) { lockedTotal = sum(spend); }
    update();
  }

  var container = document.getElementById("sim-channels");
  channels.forEach(function (c, i) {
    var built = buildRow(c, i);
    rows.push(built);
    container.appendChild(built.row);
  });
  var priceContainer = document.getElementById("sim-prices");
  if (priceContainer) {
    prices.forEach(function (p, j) {
      var built = buildPriceRow(p, j);
      priceRows.push(built);
      priceContainer.appendChild(built.row);
    });
  }
  document.getElementById("sim-lock").addEventListener("change", function (event) {
    lockedTotal = event.target.checked ? sum(spend) : null;
    update();
  });
  document.getElementById("sim-current").addEventListener("click", function () { setPlan(currentPlan); });
  var optimalButton = document.getElementById("sim-optimal");
  if (optimalButton) {
    optimalButton.addEventListener("click", function () {
      setPlan(channels.map(function (c) { return c.optimal === null ? c.current : c.optimal; }));
    });
  }
  update();
})();
