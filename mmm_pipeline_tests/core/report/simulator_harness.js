/*
 * Runs the report's simulator.js in Node.js with a minimal stand-in for the page, so its
 * arithmetic is tested where no browser is installed (test_simulator_node.py).
 *
 * stdin: {"payload": <simulator-data JSON>, "script": <simulator.js text>, "actions": [...]}
 * actions: {"slider": name, "value": v} | {"price": category, "value": change} | {"lock": true|false}
 *          | {"click": element id}
 * stdout: one readout per action (and one before any): the page's totals, warnings and rows.
 */
"use strict";
const vm = require("vm");

function makeElement(tag) {
  const el = {
    tag: tag, attributes: {}, children: [], listeners: {}, className: "", value: "",
    _text: "",
    get textContent() { return this._text + this.children.map(function (c) { return c.textContent; }).join(""); },
    set textContent(text) { this._text = String(text); this.children = []; },
    appendChild: function (child) { this.children.push(child); return child; },
    setAttribute: function (name, value) { this.attributes[name] = String(value); },
    getAttribute: function (name) { return this.attributes[name]; },
    addEventListener: function (type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); },
    fire: function (type, event) { (this.listeners[type] || []).forEach(function (fn) { fn(event || {}); }); },
  };
  el.classList = { toggle: function (name, on) { el.className = on ? name : ""; } };
  return el;
}

function makeDocument(payloadText) {
  const byId = {};
  const created = [];
  ["simulator-app", "sim-channels", "sim-prices", "sim-lock", "sim-current", "sim-optimal", "sim-total", "sim-revenue",
   "sim-lift", "sim-warnings"].forEach(function (id) { byId[id] = makeElement("div"); });
  byId["simulator-data"] = makeElement("script");
  byId["simulator-data"].textContent = payloadText;
  function create(tag) { const el = makeElement(tag); created.push(el); return el; }
  return {
    byId: byId,
    created: created,
    getElementById: function (id) { return byId[id] || null; },
    createElement: create,
    createElementNS: function (_ns, tag) { return create(tag); },
  };
}

function readout(doc) {
  const rows = {};
  doc.byId["sim-channels"].children.forEach(function (row) {
    const slider = row.children.find(function (c) { return c.tag === "input"; });
    const part = function (cls) { return row.children.find(function (c) { return c.className === cls; }).textContent; };
    rows[row.getAttribute("data-channel")] = {
      spend: Number(slider.value), spend_text: part("sim-spend"), effect_text: part("sim-effect"),
      saturated: row.className === "saturated",
    };
  });
  const prices = {};
  doc.byId["sim-prices"].children.forEach(function (row) {
    const slider = row.children.find(function (c) { return c.tag === "input"; });
    prices[row.getAttribute("data-category")] = {
      change: Number(slider.value),
      effect_text: row.children.find(function (c) { return c.className === "sim-effect"; }).textContent,
    };
  });
  return {
    prices: prices,
    total: doc.byId["sim-total"].textContent,
    revenue: doc.byId["sim-revenue"].textContent,
    lift: doc.byId["sim-lift"].textContent,
    warnings: doc.byId["sim-warnings"].children.map(function (li) { return li.textContent; }),
    rows: rows,
  };
}

function act(doc, action) {
  if (action.slider !== undefined) {
    const slider = doc.created.find(function (el) {
      return el.tag === "input" && el.getAttribute("data-channel") === action.slider;
    });
    slider.value = String(action.value);
    slider.fire("input");
  } else if (action.price !== undefined) {
    const slider = doc.created.find(function (el) {
      return el.tag === "input" && el.getAttribute("data-category") === action.price;
    });
    slider.value = String(action.value);
    slider.fire("input");
  } else if (action.lock !== undefined) {
    doc.byId["sim-lock"].fire("change", { target: { checked: action.lock } });
  } else if (action.click !== undefined) {
    doc.byId[action.click].fire("click");
  }
}

const request = JSON.parse(require("fs").readFileSync(0, "utf8"));
const doc = makeDocument(JSON.stringify(request.payload));
vm.runInNewContext(request.script, { document: doc, console: console });
const out = [readout(doc)];
request.actions.forEach(function (action) { act(doc, action); out.push(readout(doc)); });
process.stdout.write(JSON.stringify(out));
