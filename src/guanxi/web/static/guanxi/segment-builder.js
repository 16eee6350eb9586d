// The segment rule builder: edits an AND/OR tree of rules, keeps it in the hidden
// "rules" input, and asks the server for the live count after each change. The field
// list, operators and labels come from the page (translated on the server).
(function () {
  "use strict";
  var script = document.currentScript;
  var countUrl = script.dataset.countUrl;
  function json(id) { return JSON.parse(document.getElementById(id).textContent); }
  var state = json("segment-rules");
  var fields = json("segment-fields");
  var operators = json("segment-operators");
  var texts = json("segment-texts");
  var byKey = {};
  fields.forEach(function (f) { byKey[f.key] = f; });
  var root = document.getElementById("builder");
  var input = document.getElementById("rules-input");
  var form = document.getElementById("segment-form");
  var timer = null;
  var seq = 0;

  if (!state || !state.op) { state = { op: "and", rules: state && state.field ? [state] : [] }; }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k.slice(0, 2) === "on") { node.addEventListener(k.slice(2), attrs[k]); }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function select(options, value, onchange, multiple) {
    var s = el("select", { onchange: onchange });
    if (multiple) { s.multiple = true; s.size = Math.min(6, options.length); }
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      if (multiple ? (value || []).indexOf(o[0]) >= 0 : o[0] === value) { opt.selected = true; }
      s.appendChild(opt);
    });
    return s;
  }

  // A new rule starts empty and asks for a field first.
  function newRule() {
    return { field: "", operator: "", value: null };
  }

  function incomplete(node) {
    if (node.op) { return node.rules.some(incomplete); }
    return !node.field;
  }

  function defaultValue(field, operator) {
    if (field.kind === "number") { return 0; }
    if (field.kind === "within") {
      var inner = {}; inner[field.inner] = field.choices.length ? field.choices[0][0] : "";
      inner.days = 30; return inner;
    }
    if (operator === "in") { return field.choices.length ? [field.choices[0][0]] : []; }
    return field.choices.length ? field.choices[0][0] : "";
  }

  function valueEditor(rule, field) {
    var op = rule.operator;
    if (field.kind === "number") {
      return el("input", { type: "number", step: field.step || "1", value: rule.value,
        oninput: function (e) { rule.value = e.target.value === "" ? null : Number(e.target.value); changed(false); } });
    }
    if (field.kind === "within") {
      var v = rule.value || {};
      var listId = "list-" + (++seq);
      var what = el("input", { value: v[field.inner] || "", list: listId,
        oninput: function (e) { v[field.inner] = e.target.value; changed(false); } });
      var list = el("datalist", { id: listId });
      field.choices.forEach(function (c) { list.appendChild(el("option", { value: c[0], label: c[1] })); });
      var days = el("input", { type: "number", min: "1", max: "3650", value: v.days,
        "aria-label": texts.days,
        oninput: function (e) { v.days = e.target.value === "" ? null : Number(e.target.value); changed(false); } });
      rule.value = v;
      return el("div", { class: "gx-pair" }, [el("div", {}, [what, list]), days]);
    }
    if (field.kind === "choice" && (op === "equals" || op === "not_equals")) {
      return select(field.choices, rule.value, function (e) { rule.value = e.target.value; changed(false); });
    }
    if (field.kind === "choice" && op === "in") {
      return select(field.choices, rule.value, function (e) {
        rule.value = Array.prototype.map.call(e.target.selectedOptions, function (o) { return o.value; });
        changed(false);
      }, true);
    }
    if (op === "in") {
      return el("input", { value: (rule.value || []).join(", "), placeholder: texts.commaHint,
        oninput: function (e) {
          rule.value = e.target.value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean);
          changed(false);
        } });
    }
    var attrs = { value: rule.value || "", oninput: function (e) { rule.value = e.target.value; changed(false); } };
    if (field.kind === "tag") {
      var tagList = "list-" + (++seq);
      attrs.list = tagList;
      var datalist = el("datalist", { id: tagList });
      field.choices.forEach(function (c) { datalist.appendChild(el("option", { value: c[0] })); });
      return el("div", {}, [el("input", attrs), datalist]);
    }
    return el("input", attrs);
  }

  function renderRule(rule, parent, index, path) {
    var field = byKey[rule.field];
    var choices = fields.map(function (f) { return [f.key, f.label]; });
    if (!field) { choices.unshift(["", texts.chooseField]); }
    var fieldSelect = select(choices, field ? field.key : "", function (e) {
      var f = byKey[e.target.value];
      if (!f) { return; }
      rule.field = f.key; rule.operator = f.operators[0];
      rule.value = defaultValue(f, rule.operator); changed(true);
    });
    fieldSelect.setAttribute("data-testid", "rule-field");
    fieldSelect.setAttribute("aria-label", texts.chooseField);
    var remove = el("button", { type: "button", class: "btn btn-outline-secondary btn-sm", text: "×", title: texts.remove,
      "aria-label": texts.remove, onclick: function () { parent.rules.splice(index, 1); changed(true); } });
    if (!field) {
      return el("div", { class: "gx-rule", "data-path": path, "data-testid": "rule" }, [fieldSelect, el("span"), el("span"), remove]);
    }
    var opSelect = select(field.operators.map(function (o) { return [o, operators[o] || o]; }), rule.operator, function (e) {
      var before = rule.operator; rule.operator = e.target.value;
      if ((before === "in") !== (rule.operator === "in")) { rule.value = defaultValue(field, rule.operator); }
      changed(true);
    });
    opSelect.setAttribute("data-testid", "rule-operator");
    var editor = valueEditor(rule, field);
    editor.setAttribute("data-testid", "rule-value");
    return el("div", { class: "gx-rule", "data-path": path, "data-testid": "rule" }, [fieldSelect, opSelect, editor, remove]);
  }

  function renderGroup(group, parent, index, path) {
    var head = el("div", { class: "gx-group-head" }, [
      select([["and", texts.and], ["or", texts.or]], group.op, function (e) { group.op = e.target.value; changed(false); }),
      el("button", { type: "button", class: "btn btn-outline-primary btn-sm", text: texts.addRule, "data-testid": "add-rule",
        onclick: function () { group.rules.push(newRule()); changed(true); } }),
      el("button", { type: "button", class: "btn btn-outline-primary btn-sm", text: texts.addGroup, "data-testid": "add-group",
        onclick: function () { group.rules.push({ op: "or", rules: [newRule()] }); changed(true); } }),
      parent ? el("button", { type: "button", class: "btn btn-outline-secondary btn-sm", text: texts.remove,
        onclick: function () { parent.rules.splice(index, 1); changed(true); } }) : null,
    ]);
    var box = el("div", { class: "gx-rules", "data-path": path, "data-testid": "group" }, [head]);
    group.rules.forEach(function (child, i) {
      var childPath = path + ".rules." + i;
      box.appendChild(child.op ? renderGroup(child, group, i, childPath) : renderRule(child, group, i, childPath));
    });
    return box;
  }

  function render() {
    root.replaceChildren(renderGroup(state, null, 0, "rules"));
    root.querySelectorAll("select").forEach(function (s) {
      s.classList.add(s.multiple ? "gx-multi" : "form-select");
    });
    root.querySelectorAll("input").forEach(function (i) { i.classList.add("form-control"); });
    // Multi-selects become tom-select boxes (type to filter, click to add).
    if (window.guanxiPickers) { window.guanxiPickers(root); }
  }

  function changed(structure) {
    if (structure) { render(); }
    input.value = JSON.stringify(state);
    clearTimeout(timer);
    timer = setTimeout(count, 300);
  }

  function csrf() {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    return token ? token.value : "";
  }

  var current = null;
  function count() {
    var box = document.getElementById("live-count");
    var error = document.getElementById("count-error");
    var busy = document.getElementById("count-busy");
    if (incomplete(state)) {
      box.textContent = "—";
      error.textContent = texts.incomplete;
      return;
    }
    root.querySelectorAll(".gx-rule-error").forEach(function (n) { n.classList.remove("gx-rule-error"); });
    busy.style.display = "inline-block";
    var mine = current = {};
    fetch(countUrl, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
                      body: JSON.stringify(state), credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (mine !== current) { return; }
        busy.style.display = "none";
        if (res.ok) {
          box.textContent = res.body.count.toLocaleString();
          error.textContent = "";
          return;
        }
        box.textContent = "—";
        error.textContent = (res.body.errors || []).map(function (e) { return e.message; }).join("; ");
        (res.body.errors || []).forEach(function (e) {
          var path = (e.field || "").replace(/\.(value|operator|field|op)(\..*)?$/, "");
          var node = root.querySelector('[data-path="' + path + '"]');
          if (node) { node.classList.add("gx-rule-error"); }
        });
      })
      .catch(function () { busy.style.display = "none"; });
  }

  form.addEventListener("submit", function () { input.value = JSON.stringify(state); });
  render();
  changed(false);
})();
