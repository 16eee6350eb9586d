// The automation editor: a list of steps edited in place and kept, as JSON, in the hidden
// "steps" input; the trigger's settings for the chosen trigger; entry conditions and the
// goal picked from the segments (their rule trees are copied) or written as JSON.
// Labels, actions and their settings come from the page (translated on the server).
(function () {
  "use strict";
  function json(id) { return JSON.parse(document.getElementById(id).textContent); }
  var data = json("automation-editor");
  var t = data.texts;
  var steps = data.steps || [];
  var actions = {};
  data.actions.forEach(function (a) { actions[a.name] = a; });
  var list = document.getElementById("steps");
  var input = document.getElementById("steps-input");
  var form = document.getElementById("automation-form");

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
  function label(text, control) {
    return el("label", { "class": "form-label" }, [document.createTextNode(text), control]);
  }
  function select(options, value, onchange, testid) {
    var s = el("select", { "class": "form-select form-select-sm", onchange: onchange });
    if (testid) { s.setAttribute("data-testid", testid); }
    options.forEach(function (o) {
      var opt = el("option", { value: o[0], text: o[1] });
      if (String(o[0]) === String(value === undefined || value === null ? "" : value)) {
        opt.selected = true;
      }
      s.appendChild(opt);
    });
    return s;
  }
  function number(value, onchange, attrs) {
    var i = el("input", Object.assign({ "class": "form-control form-control-sm", type: "number",
      value: value === undefined ? "" : value }, attrs || {}));
    i.addEventListener("input", function () { onchange(i.value === "" ? 0 : parseInt(i.value, 10)); });
    return i;
  }
  function text(value, onchange, attrs) {
    var i = el("input", Object.assign({ "class": "form-control form-control-sm",
      value: value === undefined || value === null ? "" : value }, attrs || {}));
    i.addEventListener("input", function () { onchange(i.value); });
    return i;
  }
  function newId() {
    var n = steps.length + 1;
    var ids = steps.map(function (s) { return s.id; });
    while (ids.indexOf("s" + n) >= 0) { n += 1; }
    return "s" + n;
  }
  // Where a step may jump: a later step, or exit (or, for a split path, just go on).
  function targets(index, allowNext) {
    var out = allowNext ? [["", t.next]] : [];
    steps.slice(index + 1).forEach(function (s, i) {
      out.push([s.id, t.step + " " + (index + i + 2) + " · " + (data.types[s.type] || s.type)]);
    });
    out.push(["exit", t.exit]);
    return out;
  }
  function sync() { input.value = JSON.stringify(steps); }

  function ruleEditor(step) {
    var match = "custom";
    if (!step.rules || !Object.keys(step.rules).length) { match = ""; }
    data.segments.forEach(function (s) {
      if (JSON.stringify(s.rules) === JSON.stringify(step.rules)) { match = String(s.id); }
    });
    var area = el("textarea", { "class": "form-control form-control-sm font-monospace", rows: "3",
      "data-testid": "branch-rules" });
    area.value = step.rules ? JSON.stringify(step.rules) : "";
    area.hidden = match !== "custom";
    area.addEventListener("input", function () {
      try { step.rules = JSON.parse(area.value); area.classList.remove("is-invalid"); sync(); }
      catch (e) { area.classList.add("is-invalid"); }
    });
    var options = [["", t.choose]].concat(data.segments.map(function (s) {
      return [String(s.id), t.segment + " " + s.name]; })).concat([["custom", t.customRules]]);
    var picker = select(options, match, function (ev) {
      var v = ev.target.value;
      area.hidden = v !== "custom";
      var seg = data.segments.filter(function (s) { return String(s.id) === v; })[0];
      if (seg) { step.rules = seg.rules; area.value = JSON.stringify(seg.rules); }
      sync();
    }, "branch-segment");
    return [label(t.condition, picker), area];
  }

  function fieldsFor(step, index) {
    var out = [];
    var set = function (k) { return function (v) { step[k] = v; sync(); }; };
    if (step.type === "action") {
      var options = [["", t.choose]].concat(data.actions.map(function (a) { return [a.name, a.label]; }));
      out.push(label(t.action, select(options, step.action, function (ev) {
        step.action = ev.target.value; step.config = {}; render();
      }, "step-action")));
      var spec = actions[step.action];
      if (spec) {
        step.config = step.config || {};
        if (spec.help) { out.push(el("small", { "class": "gx-muted d-block", text: spec.help })); }
        spec.fields.forEach(function (f) {
          var setc = function (v) { step.config[f.name] = v; sync(); };
          var cur = step.config[f.name];
          var control;
          if (f.kind === "boolean") {
            control = el("input", { type: "checkbox", "class": "form-check-input ms-2" });
            control.checked = cur === undefined ? f.name === "only_unowned" : !!cur;
            if (cur === undefined && f.name === "only_unowned") { step.config[f.name] = true; }
            control.addEventListener("change", function () { setc(control.checked); });
          } else if (f.choices) {
            var opts = (f.required ? [["", t.choose]] : [["", "—"]]).concat(f.choices);
            control = select(opts, cur, function (ev) {
              if (ev.target.value === "") { delete step.config[f.name]; sync(); }
              else { setc(ev.target.value); }
            }, "config-" + f.name);
          } else if (f.kind === "integer") {
            control = number(cur, setc, { "data-testid": "config-" + f.name });
          } else {
            control = text(cur, setc, { "data-testid": "config-" + f.name });
          }
          out.push(label(f.label, control));
        });
      }
    } else if (step.type === "wait") {
      var mode = step.until || "";
      out.push(label(t.until, select([["", t.duration], ["time", t.untilTime], ["birthday", t.untilBirthday],
        ["field", t.untilField]],
        mode, function (ev) {
          var id = step.id;
          Object.keys(step).forEach(function (k) { delete step[k]; });
          step.id = id; step.type = "wait";
          if (ev.target.value === "") { step.days = 1; }
          else { step.until = ev.target.value; step.time = "09:00"; }
          render();
        }, "wait-mode")));
      if (mode === "") {
        out.push(el("div", { "class": "d-flex gap-2" }, [
          label(t.days, number(step.days, set("days"), { min: "0", "data-testid": "wait-days" })),
          label(t.hours, number(step.hours, set("hours"), { min: "0", max: "23" })),
          label(t.minutes, number(step.minutes, set("minutes"), { min: "0", max: "59" }))]));
      } else {
        out.push(label(t.time, text(step.time, set("time"), { placeholder: "09:00", "data-testid": "wait-time" })));
        if (mode === "time") {
          out.push(label(t.weekdays, text((step.weekdays || []).join(","), function (v) {
            step.weekdays = v.split(",").map(function (x) { return x.trim(); })
              .filter(function (x) { return x !== ""; }).map(function (x) { return parseInt(x, 10); });
            sync();
          })));
          var wd = el("input", { type: "checkbox", "class": "form-check-input ms-2" });
          wd.checked = !!step.workday;
          wd.addEventListener("change", function () { step.workday = wd.checked; sync(); });
          out.push(label(t.workday, wd));
        } else {
          if (mode === "field") {
            // a named date field, or any custom attribute as attributes.<name>
            var fields = el("datalist", { id: "date-fields-" + step.id },
              data.dateFields.map(function (f) { return el("option", { value: f[0], text: f[1] }); }));
            out.push(fields);
            out.push(label(t.dateField, text(step.field, set("field"), { list: fields.id,
              placeholder: "attributes.contract_end", "data-testid": "wait-field" })));
          }
          var limit = mode === "field" ? "400" : "60";
          out.push(label(t.offset, number(step.offset_days, set("offset_days"), { min: "-" + limit, max: limit })));
        }
      }
    } else if (step.type === "branch") {
      out = out.concat(ruleEditor(step));
      out.push(label(t["else"], select(targets(index, false), step["else"], function (ev) {
        step["else"] = ev.target.value; sync(); }, "branch-else")));
    } else if (step.type === "split") {
      step.paths = step.paths || [{ percent: 50 }, { percent: 50 }];
      step.paths.forEach(function (p, i) {
        out.push(el("div", { "class": "d-flex gap-2 align-items-end" }, [
          label(t.path + " " + (i + 1) + " · " + t.percent, number(p.percent, function (v) { p.percent = v; sync(); }, { min: "0", max: "100" })),
          label(t.goto, select(targets(index, true), p.goto || "", function (ev) {
            if (ev.target.value) { p.goto = ev.target.value; } else { delete p.goto; } sync(); }))]));
      });
      var total = step.paths.reduce(function (a, p) { return a + (p.percent || 0); }, 0);
      out.push(el("small", { "class": "gx-muted", text: t.holdout + ": " + Math.max(0, 100 - total) + "%" }));
      if (step.paths.length < 5) {
        out.push(el("button", { type: "button", "class": "btn btn-sm btn-link", text: t.addPath,
          onclick: function () { step.paths.push({ percent: 0 }); render(); } }));
      }
    } else if (step.type === "wait_event") {
      out.push(label(t.event, select([["", t.choose]].concat(data.kinds), step.kind, function (ev) {
        step.kind = ev.target.value; sync(); }, "wait-event-kind")));
      out.push(label(t.days, number(step.days, set("days"), { min: "1" })));
      out.push(label(t.timeout, select(targets(index, false), step.timeout, function (ev) {
        step.timeout = ev.target.value; sync(); })));
    }
    return out;
  }

  function move(index, by) {
    var to = index + by;
    if (to < 0 || to >= steps.length) { return; }
    var s = steps.splice(index, 1)[0];
    steps.splice(to, 0, s);
    render();
  }

  function render() {
    list.innerHTML = "";
    if (!steps.length) { list.appendChild(el("li", { "class": "gx-muted", text: t.noSteps })); }
    steps.forEach(function (step, index) {
      var head = el("div", { "class": "d-flex justify-content-between align-items-center mb-2" }, [
        el("strong", { text: (index + 1) + ". " + (data.types[step.type] || step.type) }),
        el("div", { "class": "btn-group btn-group-sm" }, [
          el("button", { type: "button", "class": "btn", "aria-label": t.up, text: "↑", onclick: function () { move(index, -1); } }),
          el("button", { type: "button", "class": "btn", "aria-label": t.down, text: "↓", onclick: function () { move(index, 1); } }),
          el("button", { type: "button", "class": "btn btn-outline-danger", text: t.remove, "data-testid": "step-remove",
            onclick: function () { steps.splice(index, 1); render(); } })])]);
      list.appendChild(el("li", { "class": "card card-sm mb-2", "data-step": step.id, "data-testid": "step" },
        [el("div", { "class": "card-body" }, [head].concat(fieldsFor(step, index)))]));
    });
    sync();
  }

  var add = document.getElementById("step-add");
  Object.keys(data.types).forEach(function (type) {
    add.appendChild(el("button", { type: "button", "class": "btn btn-sm btn-outline-secondary",
      "data-testid": "add-" + type, text: "+ " + data.types[type], onclick: function () {
        var step = { id: newId(), type: type };
        if (type === "wait") { step.days = 1; }
        if (type === "wait_event") { step.days = 7; step.timeout = "exit"; }
        if (type === "branch") { step["else"] = "exit"; step.rules = {}; }
        if (type === "action") { step.config = {}; }
        steps.push(step);
        render();
      } }));
  });

  // Entry conditions and goal: a segment's rules, or JSON.
  ["conditions", "goal"].forEach(function (name) {
    var area = document.getElementById(name);
    var picker = document.querySelector("[data-rules-for='" + name + "']");
    var value = json("automation-" + name) || {};
    area.value = Object.keys(value).length ? JSON.stringify(value) : "";
    var match = Object.keys(value).length ? "custom" : "";
    data.segments.forEach(function (s) {
      if (JSON.stringify(s.rules) === JSON.stringify(value)) { match = String(s.id); }
    });
    picker.value = match;
    area.hidden = match !== "custom";
    picker.addEventListener("change", function () {
      var seg = data.segments.filter(function (s) { return String(s.id) === picker.value; })[0];
      area.hidden = picker.value !== "custom";
      if (seg) { area.value = JSON.stringify(seg.rules); }
      else if (picker.value === "") { area.value = ""; }
    });
  });

  // The trigger's settings: only the chosen trigger's fields are shown and sent.
  var trigger = document.getElementById("trigger-select");
  function showTrigger() {
    document.querySelectorAll(".gx-trigger-fields").forEach(function (fs) {
      var on = fs.dataset.trigger === trigger.value;
      fs.hidden = !on; fs.disabled = !on;
    });
  }
  trigger.addEventListener("change", showTrigger);
  showTrigger();
  form.addEventListener("submit", sync);
  render();
}());
