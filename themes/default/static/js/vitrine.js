/*
 * Vitrine — progressive enhancement only. Without this script every page works:
 * the main menu simply wraps on small screens.
 * With it, on small screens the menu folds behind a "Menu" button.
 */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

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
