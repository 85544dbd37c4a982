// The admin's autocomplete fields (Django's select2) get the name of their <label>. Select2 names
// its combobox only by the text of the current choice, empty until one is chosen, and gives that
// text a role of textbox with no name of its own (axe: aria-input-field-name, serious). Here the
// combobox is named by the label then the choice, and the choice is plain text inside it, as in
// later versions of select2. Select2 builds its elements when jQuery is ready, which may come
// after this script and even after "load": each one is named as it appears.
"use strict";
(function () {
  function name(select) {
    var label = document.querySelector('label[for="' + select.id + '"]');
    var combobox = select.parentElement.querySelector(".select2-selection");
    if (!label || !combobox || combobox.dataset.named) {
      return;
    }
    if (!label.id) {
      label.id = select.id + "_label";
    }
    var ids = [label.id];
    var rendered = combobox.querySelector(".select2-selection__rendered");
    if (rendered) {
      rendered.removeAttribute("role");
      rendered.removeAttribute("aria-readonly");
      if (rendered.id) {
        ids.push(rendered.id);
      }
    }
    combobox.setAttribute("aria-labelledby", ids.join(" "));
    combobox.dataset.named = "true";
  }

  function nameAll() {
    document.querySelectorAll("select.admin-autocomplete").forEach(name);
  }

  document.addEventListener("DOMContentLoaded", function () {
    nameAll();
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  });
})();
