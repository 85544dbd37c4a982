// Progressive enhancement of the account switches: without this script each switch opens a
// confirmation page; with it, the same question (and, for a reactivation, the reason) comes in
// a native <dialog>, whose "OUI" posts to the same address as the page would.
(function () {
  "use strict";
  var dialog = document.getElementById("confirm-dialog");
  if (!dialog || typeof dialog.showModal !== "function") {
    return;
  }
  var form = dialog.querySelector("form");
  var question = dialog.querySelector("[data-question]");
  var label = dialog.querySelector("[data-label]");
  var reason = dialog.querySelector("[data-reason]");
  var textarea = reason.querySelector("textarea");
  var opener = null;

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
    var needsReason = trigger.hasAttribute("data-reason");
    reason.hidden = !needsReason;
    textarea.disabled = !needsReason;
    textarea.required = needsReason;
    textarea.value = "";
    dialog.showModal();
    (needsReason ? textarea : form.querySelector("button[type=submit]")).focus();
  });

  dialog.querySelector("[data-cancel]").addEventListener("click", function () {
    dialog.close();
  });
  dialog.addEventListener("close", function () {
    if (opener) {
      opener.focus();
    }
  });
})();
