// The editors' desk, a little quicker: forms marked data-inline are sent in the background and the
// stories and the state are swapped in place (the focus stays on the same button); the preview follows.
// Without this script every form still works: it posts, and the server sends the page back.
"use strict";
(function () {
  var busy = false;

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    ["work", "state", "notice"].forEach(function (id) {
      var fresh = doc.getElementById(id), old = document.getElementById(id);
      if (fresh && old) { old.replaceWith(fresh); }
    });
  }

  function refreshPreview() {
    var frame = document.getElementById("preview-frame");
    if (frame) { frame.src = frame.src; }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-inline") || !window.fetch) { return; }
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    var submitter = event.submitter || form.querySelector("button");
    var key = submitter ? submitter.getAttribute("data-key") : null;
    var scroll = window.scrollY;
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok || response.redirected && response.url.indexOf("/desk/login") >= 0) {
          throw new Error("status " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        swap(html);
        window.scrollTo(0, scroll);
        var again = key && document.querySelector('[data-key="' + key + '"]');
        if (again && !again.disabled) { again.focus(); }
        refreshPreview();
      })
      .catch(function () { form.submit(); })  // fall back to the plain form
      .then(function () { busy = false; });
  });

  // the preview profile updates the live preview as soon as it changes
  var profile = document.querySelector("aside.preview form.profile");
  if (profile) {
    profile.addEventListener("change", function () {
      var frame = document.getElementById("preview-frame");
      var params = new URLSearchParams(new FormData(profile));
      ["q", "country", "topic", "section"].forEach(function (k) { params.delete(k); });
      if (frame) { frame.src = "/desk/preview/email?" + params.toString(); }
    });
  }
})();
