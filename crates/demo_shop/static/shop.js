// Ember & Leaf — small progressive enhancements for every page.
// The shop works without this file.
(function () {
  "use strict";

  // Fade out "added to cart" style messages after a few seconds.
  document.querySelectorAll(".flash").forEach(function (el) {
    window.setTimeout(function () {
      el.style.transition = "opacity 0.6s";
      el.style.opacity = "0";
      window.setTimeout(function () { el.remove(); }, 700);
    }, 5000);
  });

  // Ask before emptying a cart line.
  document.querySelectorAll('form[action="/cart/remove"]').forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm("Remove this item from your cart?")) {
        event.preventDefault();
      }
    });
  });
})();
