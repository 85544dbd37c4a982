// Passkeys (WebAuthn) as the second factor: the register and verify ceremonies of the portal's
// django-otp-webauthn endpoints, with the page's own French messages (data-message-*). Without
// JavaScript or WebAuthn the section stays hidden, and the app's code works as before.
(function () {
  "use strict";
  const section = document.querySelector("[data-passkey]");
  if (!section || !window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  const button = section.querySelector("[data-passkey-button]");
  const status = section.querySelector("[data-passkey-status]");
  const csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  const registering = section.dataset.passkey === "register";

  function toBuffer(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, "=");
    return Uint8Array.from(atob(padded), (character) => character.charCodeAt(0)).buffer;
  }

  function toBase64url(buffer) {
    let text = "";
    new Uint8Array(buffer).forEach((byte) => {
      text += String.fromCharCode(byte);
    });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(descriptors) {
    return (descriptors || []).map((descriptor) => ({ ...descriptor, id: toBuffer(descriptor.id) }));
  }

  function creationOptions(json) {
    return {
      ...json,
      challenge: toBuffer(json.challenge),
      user: { ...json.user, id: toBuffer(json.user.id) },
      excludeCredentials: withIds(json.excludeCredentials),
    };
  }

  function requestOptions(json) {
    return { ...json, challenge: toBuffer(json.challenge), allowCredentials: withIds(json.allowCredentials) };
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    const answer = credential.response;
    const response = { clientDataJSON: toBase64url(answer.clientDataJSON) };
    if (answer.attestationObject) {
      response.attestationObject = toBase64url(answer.attestationObject);
      response.transports = answer.getTransports ? answer.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(answer.authenticatorData);
      response.signature = toBase64url(answer.signature);
      response.userHandle = answer.userHandle ? toBase64url(answer.userHandle) : null;
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    };
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": csrfInput ? csrfInput.value : "",
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      body: body ? JSON.stringify(body) : "",
    });
  }

  async function ceremony() {
    const begin = await post(section.dataset.beginUrl);
    if (!begin.ok) {
      throw new Error("begin");
    }
    const options = await begin.json();
    const credential = registering
      ? await navigator.credentials.create({ publicKey: creationOptions(options) })
      : await navigator.credentials.get({ publicKey: requestOptions(options) });
    const complete = await post(section.dataset.completeUrl, credentialJSON(credential));
    const json = (complete.headers.get("content-type") || "").includes("application/json");
    const result = json ? await complete.json() : {};
    if (complete.status === 429) {
      window.location.reload(); // locked out: the page says so
      return;
    }
    if (!complete.ok || !result.redirect_url) {
      throw new Error("complete");
    }
    window.location.assign(result.redirect_url);
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = section.dataset.messageBusy;
    try {
      await ceremony();
    } catch (error) {
      status.textContent =
        error && error.name === "NotAllowedError"
          ? section.dataset.messageCancelled
          : section.dataset.messageFailed;
      button.disabled = false;
      button.focus();
    }
  });
  section.hidden = false;
})();
