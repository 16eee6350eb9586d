// Behaviour every page shares, bound here instead of in inline handlers (the Content
// Security Policy allows no inline script).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLElement && el.matches("[data-autosubmit]") && el.form) el.form.submit();
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
}, true);

// Global search: Ctrl-K (Cmd-K) or "/" outside a text field focuses it; Escape and a click
// elsewhere close its results.
function globalSearchInput() {
  return document.querySelector("[data-global-search] input[name=q]");
}
function typing(el) {
  return el instanceof HTMLElement && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
}
document.addEventListener("keydown", (event) => {
  const input = globalSearchInput();
  if (!input) return;
  const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
  const slash = event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey;
  if (ctrlK || slash) {
    event.preventDefault();
    input.focus();
    input.select();
  } else if (event.key === "Escape" && event.target === input) {
    const results = document.getElementById("gx-search-results");
    if (results) results.replaceChildren();
    input.blur();
  }
});
document.addEventListener("click", (event) => {
  const form = document.querySelector("[data-global-search]");
  const results = document.getElementById("gx-search-results");
  if (form && results && !form.contains(event.target)) results.replaceChildren();
});

// Toasts (the messages of the last create, edit or delete) hide themselves after a while;
// errors stay until closed.
function initToasts(root) {
  if (!window.tabler) return;
  root.querySelectorAll("[data-gx-toast]").forEach((el) => {
    const sticky = el.classList.contains("gx-toast-error");
    window.tabler.Toast.getOrCreateInstance(el, { autohide: !sticky, delay: 6000 }).show();
  });
}

// Pickers: a <select multiple> or one marked data-picker becomes a tom-select box (type to
// filter, click to add; no Ctrl-click).
function initPickers(root) {
  if (!window.TomSelect) return;
  root.querySelectorAll("select[multiple], select[data-picker]").forEach((el) => {
    if (el.tomselect || el.closest("[data-no-picker]")) return;
    const plugins = el.multiple ? ["remove_button"] : [];
    // eslint-disable-next-line no-new
    new window.TomSelect(el, { plugins, maxOptions: 500, allowEmptyOption: true });
  });
}

window.guanxiPickers = initPickers;

function init(root) {
  initToasts(root);
  initPickers(root);
}
document.addEventListener("DOMContentLoaded", () => init(document));
document.addEventListener("htmx:afterSettle", (event) => init(event.target));
// A toast sent by the server with an htmx answer (HX-Trigger: {"gx-toast": "…"}).
document.addEventListener("gx-toast", (event) => {
  const box = document.getElementById("gx-toasts");
  const text = event.detail && event.detail.value;
  if (!box || !text) return;
  const toast = document.createElement("div");
  toast.className = "toast show";
  toast.setAttribute("role", "alert");
  toast.dataset.gxToast = "";
  toast.setAttribute("data-testid", "toast");
  const body = document.createElement("div");
  body.className = "toast-body";
  body.textContent = text;
  toast.append(body);
  box.append(toast);
  initToasts(box);
});

// Lists ([data-list]): tick rows for a bulk action (or "all N matching"), and move
// through the rows with j/k (or the arrow keys) and open one with Enter.
function bulkRefresh(list) {
  const form = list.querySelector("[data-bulk]");
  if (!form) return;
  const ticked = list.querySelectorAll("[data-bulk-row]:checked").length;
  const scope = form.querySelector("[data-bulk-scope]");
  const all = scope && scope.value === "all";
  form.hidden = !ticked && !all;
  const count = form.querySelector("[data-bulk-count]");
  if (count) count.textContent = all ? "" : ticked + " ✓";
  const action = form.querySelector("[data-bulk-action]");
  const wanted = action && action.selectedOptions[0] ? action.selectedOptions[0].dataset.value : "";
  form.querySelectorAll("[data-bulk-value]").forEach((el) => {
    const on = el.dataset.bulkValue === wanted;
    el.hidden = !on;
    el.disabled = !on;
  });
}
document.addEventListener("change", (event) => {
  const el = event.target;
  if (!(el instanceof HTMLElement)) return;
  const list = el.closest("[data-list]");
  if (!list) return;
  if (el.matches("[data-bulk-page]")) {
    list.querySelectorAll("[data-bulk-row]").forEach((box) => { box.checked = el.checked; });
  }
  if (el.matches("[data-bulk-row], [data-bulk-page]")) {
    const scope = list.querySelector("[data-bulk-scope]");
    if (scope) scope.value = "ids";
    const allButton = list.querySelector("[data-bulk-all]");
    if (allButton) allButton.textContent = allButton.dataset.labelAll;
  }
  bulkRefresh(list);
});
document.addEventListener("click", (event) => {
  const button = event.target instanceof HTMLElement && event.target.closest("[data-bulk-all]");
  if (!button) return;
  const list = button.closest("[data-list]");
  const scope = list.querySelector("[data-bulk-scope]");
  scope.value = "all";
  list.querySelectorAll("[data-bulk-row], [data-bulk-page]").forEach((box) => { box.checked = true; });
  button.textContent = "✓ " + button.dataset.labelAll;
  bulkRefresh(list);
});
document.addEventListener("keydown", (event) => {
  if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  const list = document.querySelector("[data-list]");
  if (!list) return;
  const rows = Array.from(list.querySelectorAll("tr[data-row]"));
  if (!rows.length) return;
  let index = rows.findIndex((row) => row.classList.contains("gx-row-focus"));
  if (event.key === "j" || event.key === "ArrowDown") index = Math.min(rows.length - 1, index + 1);
  else if (event.key === "k" || event.key === "ArrowUp") index = Math.max(0, index - 1);
  else if (event.key === "Enter" && index >= 0) {
    const link = rows[index].querySelector("[data-row-link]");
    if (link) link.click();
    return;
  } else if (event.key === "x" && index >= 0) {
    const box = rows[index].querySelector("[data-bulk-row]");
    if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
    return;
  } else return;
  event.preventDefault();
  rows.forEach((row) => row.classList.remove("gx-row-focus"));
  rows[index].classList.add("gx-row-focus");
  rows[index].scrollIntoView({ block: "nearest" });
});
// When a queued bulk action finishes, the list below its status is loaded again.
document.addEventListener("gx-bulk-done", () => {
  const url = new URL(window.location.href);
  url.searchParams.delete("bulk");
  if (window.htmx && document.getElementById("results")) {
    window.htmx.ajax("GET", url.toString(), { target: "#results", swap: "innerHTML" });
  }
});

// Quick actions (the 360 page's header): choose the kind in the log form, or focus a field.
document.addEventListener("click", (event) => {
  const link = event.target instanceof HTMLElement && event.target.closest("[data-quick-kind], [data-quick-focus]");
  if (!link) return;
  const kind = link.dataset.quickKind;
  if (kind) {
    const select = document.getElementById("id_kind");
    if (select) select.value = kind;
    const tab = document.querySelector('[href="#tab-activity"]');
    if (tab && window.tabler) window.tabler.Tab.getOrCreateInstance(tab).show();
  }
  const target = document.getElementById(link.dataset.quickFocus || "id_summary_log");
  if (target) {
    event.preventDefault();
    target.scrollIntoView({ block: "center" });
    target.focus();
  }
});
