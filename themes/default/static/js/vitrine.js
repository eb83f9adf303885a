/*
 * Vitrine — progressive enhancement only. Without this script every page works:
 * the main menu simply wraps on small screens.
 * With it, on small screens the menu folds behind a "Menu" button.
 */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  // Forms: an "add one" button of a repeatable group adds the row in place
  // (without this script, the server shows the form again with one more row).
  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
  function controlId(path) { return "f-" + path.replace(/[^A-Za-z0-9_]+/g, "-").replace(/-$/, ""); }
  Array.prototype.forEach.call(document.querySelectorAll("button.list-more"), function (more) {
    var rows = more.previousElementSibling;
    if (!rows || !rows.classList.contains("list-rows")) return;
    var max = parseInt(more.getAttribute("data-max"), 10) || 0;
    // With the script the button only adds a row: Enter in a field then sends
    // the form with its real submit button, not this one (the first in the form).
    more.type = "button";
    more.addEventListener("click", function (event) {
      var all = rows.querySelectorAll(":scope > .list-row");
      var last = all[all.length - 1];
      if (!last) return;
      event.preventDefault();
      var i = all.length - 1, n = all.length, path = more.value;
      var nameRe = new RegExp("^" + escapeRe(path + "[" + i + "]"));
      var idRe = new RegExp("^" + escapeRe(controlId(path) + "-" + i) + "(?=-|$)");
      var row = last.cloneNode(true);
      row.setAttribute("data-row", String(n));
      Array.prototype.forEach.call(row.querySelectorAll("[name],[id],[for],[aria-describedby]"), function (el) {
        if (el.name) el.name = el.name.replace(nameRe, path + "[" + n + "]");
        ["id", "for"].forEach(function (a) {
          var v = el.getAttribute(a);
          if (v) el.setAttribute(a, v.replace(idRe, controlId(path) + "-" + n));
        });
        var d = el.getAttribute("aria-describedby");
        if (d) el.setAttribute("aria-describedby", d.split(" ").map(function (x) { return x.replace(idRe, controlId(path) + "-" + n); }).join(" "));
      });
      Array.prototype.forEach.call(row.querySelectorAll("legend, label"), function (el) {
        var t = el.firstChild;
        if (t && t.nodeType === 3) t.nodeValue = t.nodeValue.replace(new RegExp("\\b" + (i + 1) + "\\b"), String(n + 1));
      });
      Array.prototype.forEach.call(row.querySelectorAll("p.error"), function (el) { el.parentNode.removeChild(el); });
      Array.prototype.forEach.call(row.querySelectorAll("input, select, textarea"), function (el) {
        el.removeAttribute("aria-invalid");
        if (el.tagName === "SELECT") el.selectedIndex = 0;
        else if (el.type === "checkbox") el.checked = false;
        else el.value = "";
      });
      rows.appendChild(row);
      var first = row.querySelector("input, select, textarea");
      if (first) first.focus();
      if (max && n + 1 >= max) more.hidden = true;
    });
  });

  // Training catalogue: the filter form (hidden without this script, where the
  // "à venir" and "passées" sections split the catalogue) hides the trainings whose
  // data-mode, data-scope or data-when does not match, and a section left empty.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-training-filters]"), function (form) {
    var items = document.querySelectorAll("[data-training]");
    var sections = document.querySelectorAll("[data-filter-section]");
    var status = form.querySelector("[data-filter-status]");
    function apply() {
      var want = {};
      ["mode", "scope", "when"].forEach(function (k) {
        var c = form.querySelector("input[name='" + k + "']:checked");
        want[k] = c ? c.value : "";
      });
      var shown = 0;
      Array.prototype.forEach.call(items, function (li) {
        var ok = ["mode", "scope", "when"].every(function (k) { return !want[k] || li.getAttribute("data-" + k) === want[k]; });
        li.hidden = !ok;
        if (ok) shown++;
      });
      Array.prototype.forEach.call(sections, function (sec) {
        sec.hidden = sec.querySelector("[data-training]") !== null && sec.querySelector("[data-training]:not([hidden])") === null;
      });
      status.textContent = shown ? shown + " " + status.getAttribute(shown === 1 ? "data-one" : "data-many") : status.getAttribute("data-none");
    }
    form.hidden = false;
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  });

  // Project listing: the form that combines criteria (it opens the search page with
  // them ticked) needs the search script, so it is shown by this one.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-combined-filters]"), function (form) {
    form.hidden = false;
    // Only the chosen criteria go into the address.
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (sel) { sel.disabled = !sel.value; });
    });
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (sel) { sel.disabled = false; });
    });
  });

  var nav = document.querySelector(".main-nav");
  var bar = document.querySelector(".site-header__inner");
  if (!nav || !bar || !window.matchMedia) return;

  var small = window.matchMedia("(max-width: 61.99em)");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "menu-toggle";
  button.setAttribute("aria-controls", nav.id);
  button.setAttribute("aria-expanded", "false");
  var icon = document.createElement("span");
  icon.className = "menu-toggle__icon";
  icon.setAttribute("aria-hidden", "true");
  button.appendChild(icon);
  button.appendChild(document.createTextNode(nav.getAttribute("data-menu-label") || "Menu"));
  bar.appendChild(button);

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open || !small.matches) nav.removeAttribute("data-collapsed");
    else nav.setAttribute("data-collapsed", "");
  }

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && small.matches && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
  var onChange = function () { setOpen(false); };
  if (small.addEventListener) small.addEventListener("change", onChange);
  else if (small.addListener) small.addListener(onChange);
  setOpen(false);
})();
