// Progressive enhancement of the account switches: without this script each switch opens a
// confirmation page; with it, the same question comes in a native <dialog> (manual 000 §IV-2.2,
// §IV-2.3): OUI posts to the same address as the page would, except for a reactivation, where
// OUI leads to the reason's step (ANNULER / VALIDER). The form does not validate in the browser:
// an empty reason is posted and the server's page says what is missing, next to the field.
(function () {
  "use strict";
  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var form = dialog.querySelector("form");
  var question = dialog.querySelector("[data-question]");
  var label = dialog.querySelector("[data-label]");
  var questionStep = dialog.querySelector("[data-step=question]");
  var reasonStep = dialog.querySelector("[data-step=reason]");
  var textarea = reasonStep.querySelector("textarea");
  var yes = dialog.querySelector("[data-yes]");
  var needsReason = false;
  var opener = null;

  function showStep(reason) {
    questionStep.hidden = reason;
    reasonStep.hidden = !reason;
    textarea.disabled = !reason;
    (reason ? textarea : yes).focus();
  }

  document.addEventListener("submit", function (event) {
    var trigger = event.target.closest("form[data-confirm]");
    if (!trigger) {
      return;
    }
    event.preventDefault();
    opener = trigger.querySelector("button");
    form.action = trigger.action;
    question.textContent = trigger.dataset.confirm;
    label.textContent = trigger.dataset.confirmLabel || "";
    needsReason = trigger.hasAttribute("data-reason");
    textarea.value = "";
    dialog.showModal();
    showStep(false);
  });

  yes.addEventListener("click", function (event) {
    if (needsReason) {
      event.preventDefault();
      showStep(true);
    }
  });
  dialog.querySelectorAll("[data-cancel]").forEach(function (button) {
    button.addEventListener("click", function () {
      dialog.close();
    });
  });
  dialog.addEventListener("close", function () {
    if (opener) {
      opener.focus();
    }
  });
})();
