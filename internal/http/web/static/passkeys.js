// Gatehouse dashboard: passkeys through the browser's WebAuthn API.
// Options come as W3C JSON ({"publicKey": …}, binary fields base64url);
// the credential goes back as JSON in a hidden field of a normal form post.
(function () {
  "use strict";

  function toBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function toB64(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBuf(c.id) }); });
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = toBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: toBuf(pk.user.id) });
    pk.excludeCredentials = ids(pk.excludeCredentials);
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = toBuf(pk.challenge);
    if (pk.allowCredentials) { pk.allowCredentials = ids(pk.allowCredentials); }
    return { publicKey: pk };
  }
  function credentialJSON(c) {
    var r = c.response, out = {
      id: c.id, rawId: toB64(c.rawId), type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64(r.attestationObject);
      if (r.getTransports) { out.response.transports = r.getTransports(); }
    } else {
      out.response.authenticatorData = toB64(r.authenticatorData);
      out.response.signature = toB64(r.signature);
      if (r.userHandle) { out.response.userHandle = toB64(r.userHandle); }
    }
    return JSON.stringify(out);
  }
  function say(form, text) {
    var s = form.querySelector("[data-passkey-status]");
    if (s) { s.textContent = text; }
  }
  function fetchOptions(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: body || "{}"
    }).then(function (res) {
      return res.json().then(function (j) {
        if (!res.ok) { throw new Error(j.detail || j.error || "The server refused."); }
        return j;
      });
    });
  }
  function wire(selector, run) {
    document.querySelectorAll(selector).forEach(function (btn) {
      var form = btn.closest("form");
      if (!window.PublicKeyCredential) {
        btn.disabled = true;
        say(form, "This browser does not support passkeys.");
        return;
      }
      btn.addEventListener("click", function () {
        btn.disabled = true;
        say(form, "Waiting for your passkey…");
        run(form).then(function (cred) {
          form.elements.credential.value = credentialJSON(cred);
          say(form, "Checking…");
          form.submit();
        }).catch(function (err) {
          btn.disabled = false;
          say(form, err && err.name === "NotAllowedError" ? "Cancelled, or no passkey was available." : (err && err.message) || "That did not work.");
        });
      });
    });
  }

  // Add a passkey (/profile/security).
  wire("[data-passkey-register]", function (form) {
    return fetchOptions(form.getAttribute("data-options")).then(function (o) {
      return navigator.credentials.create(creationOptions(o));
    });
  });
  // Sign in with a passkey alone (/login).
  wire("[data-passkey-login]", function (form) {
    return fetchOptions(form.getAttribute("data-options")).then(function (o) {
      return navigator.credentials.get(requestOptions(o));
    });
  });
  // A passkey as the second factor (the options came with the page).
  wire("[data-passkey-mfa]", function (form) {
    return Promise.resolve().then(function () {
      return navigator.credentials.get(requestOptions(JSON.parse(form.getAttribute("data-request"))));
    });
  });
})();
