// Reload a progress fragment (an element with data-refresh-url) every few seconds until the server
// stops sending the attribute. A static file: the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";
  function tick() {
    var node = document.querySelector("[data-refresh-url]");
    if (!node) { return; }
    fetch(node.getAttribute("data-refresh-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        if (fresh) { node.replaceWith(fresh); }
        if (fresh && fresh.hasAttribute("data-refresh-url")) { window.setTimeout(tick, 3000); }
      })
      .catch(function () { window.setTimeout(tick, 10000); });
  }
  window.setTimeout(tick, 3000);
})();
