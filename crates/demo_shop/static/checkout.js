// Ember & Leaf — checkout field formatting.
// Groups the card number in fours, adds the slash in the expiry date and
// keeps the security code to digits. The checkout works without this file:
// the server accepts the fields as typed.
(function () {
  "use strict";

  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var number = form.querySelector('[name="card_number"]');
  var exp = form.querySelector('[name="card_exp"]');
  var cvc = form.querySelector('[name="card_cvc"]');

  function digits(value) { return value.replace(/\D+/g, ""); }

  function luhnValid(value) {
    var sum = 0;
    for (var i = 0; i < value.length; i++) {
      var d = value.charCodeAt(value.length - 1 - i) - 48;
      if (i % 2 === 1) { d *= 2; if (d > 9) { d -= 9; } }
      sum += d;
    }
    return value.length >= 12 && sum % 10 === 0;
  }

  if (number) {
    number.addEventListener("input", function () {
      var d = digits(number.value).slice(0, 19);
      number.value = d.replace(/(\d{4})(?=\d)/g, "$1 ");
      number.setCustomValidity("");
    });
    number.addEventListener("blur", function () {
      var d = digits(number.value);
      number.setCustomValidity(d && !luhnValid(d) ? "Please check the card number." : "");
    });
  }

  if (exp) {
    exp.addEventListener("input", function () {
      var d = digits(exp.value).slice(0, 4);
      exp.value = d.length > 2 ? d.slice(0, 2) + "/" + d.slice(2) : d;
    });
  }

  if (cvc) {
    cvc.addEventListener("input", function () {
      cvc.value = digits(cvc.value).slice(0, 4);
    });
  }

  form.addEventListener("submit", function () {
    var button = form.querySelector('button[type="submit"]');
    if (button) {
      window.setTimeout(function () { button.disabled = true; button.textContent = "Processing…"; }, 0);
    }
  });
})();
