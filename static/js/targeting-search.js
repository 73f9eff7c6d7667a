/* Audience form: search Facebook's targeting ids (interests, countries, regions, cities).
   Progressive enhancement only: without this script the same text fields are typed by hand,
   and the script only appends lines to them. No inline script (CSP), no innerHTML. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-search-url]");
  if (!form) { return; }
  var url = form.getAttribute("data-search-url");

  function append(target, kind, row) {
    if (kind === "country") {
      var codes = target.value.split(/[\s,;]+/).filter(Boolean);
      if (codes.indexOf(row.id) === -1) { codes.push(row.id); }
      target.value = codes.join(", ");
      return;
    }
    var line = row.id + " | " + row.name + (kind === "city" ? " | 25" : "");
    var lines = target.value.split("\n").filter(function (l) { return l.trim() !== ""; });
    var already = lines.some(function (l) { return l.split("|")[0].trim() === row.id; });
    if (!already) { lines.push(line); }
    target.value = lines.join("\n");
  }

  Array.prototype.forEach.call(form.querySelectorAll(".search-widget"), function (widget) {
    var kind = widget.getAttribute("data-kind");
    var target = document.getElementById(widget.getAttribute("data-target"));
    var input = widget.querySelector("input[type=search]");
    var button = widget.querySelector("button");
    var list = widget.querySelector(".search-results");
    var status = widget.querySelector(".search-status");
    widget.hidden = false;

    function show(rows) {
      list.textContent = "";
      rows.forEach(function (row) {
        var item = document.createElement("li");
        var text = document.createElement("span");
        text.textContent = row.name + (row.detail ? " — " + row.detail : "") + " (" + row.id + ")";
        var add = document.createElement("button");
        add.type = "button";
        add.className = "small";
        add.textContent = "Ajouter";
        add.setAttribute("aria-label", "Ajouter " + row.name);
        add.addEventListener("click", function () {
          append(target, kind, row);
          status.textContent = row.name + " ajouté.";
        });
        item.appendChild(text);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(add);
        list.appendChild(item);
      });
    }

    function run(event) {
      event.preventDefault();
      var q = input.value.trim();
      if (q.length < 2) { status.textContent = "Tapez au moins deux lettres."; return; }
      status.textContent = "Recherche…";
      fetch(url + "?type=" + encodeURIComponent(kind) + "&q=" + encodeURIComponent(q),
            {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (body.error) { status.textContent = body.error; show([]); return; }
          status.textContent = body.results.length ? body.results.length + " résultat(s)." : "Aucun résultat.";
          show(body.results);
        })
        .catch(function () { status.textContent = "La recherche n'a pas abouti ; saisissez l'identifiant vous-même."; });
    }

    button.addEventListener("click", run);
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") { run(event); } });
  });
}());
