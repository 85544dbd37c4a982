// Shows the normalisations the server applies (SPEC §3) as soon as a field is left: noms in
// capitals, prénom capitalised ("jean-pierre" → "Jean-Pierre"), phone as 07.00.00.00.00.
// The server applies them anyway; this only lets the person see them before sending.
(function () {
  "use strict";
  function capitalise(value) {
    return value.toLowerCase().replace(/(^|[\s'\-])(\S)/g, function (match, separator, letter) {
      return separator + letter.toUpperCase();
    });
  }
  function phone(value) {
    var digits = value.replace(/[\s.]/g, "");
    return /^\d{10}$/.test(digits) ? digits.match(/\d\d/g).join(".") : value;
  }
  var rules = {
    nom_patronymique: function (value) { return value.toUpperCase(); },
    nom_usuel: function (value) { return value.toUpperCase(); },
    prenom: capitalise,
    telephone: phone,
  };
  Object.keys(rules).forEach(function (name) {
    var input = document.querySelector(".account-form [name='" + name + "']");
    if (input) {
      input.addEventListener("blur", function () {
        input.value = rules[name](input.value.trim());
      });
    }
  });
})();
