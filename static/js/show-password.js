// "Afficher le mot de passe": the checkbox turns the form's new password fields into text fields
// and back. Without this script the checkbox stays hidden and the fields stay password fields.
(function () {
  "use strict";
  document.querySelectorAll(".show-password").forEach(function (wrapper) {
    var form = wrapper.closest("form");
    var checkbox = wrapper.querySelector("input[type=checkbox]");
    var fields = form.querySelectorAll("input[autocomplete=new-password]");
    wrapper.hidden = false;
    checkbox.addEventListener("change", function () {
      fields.forEach(function (field) {
        field.type = checkbox.checked ? "text" : "password";
      });
    });
  });
})();
