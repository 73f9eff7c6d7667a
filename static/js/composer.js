/* Composer: live character counts and Facebook-like previews, and the story copied into the
   variants nobody has touched yet. Progressive enhancement only: the server counts, limits,
   derives the variants ("Préparer les variantes") and renders the same preview without it. */
(function () {
  "use strict";
  var form = document.querySelector("form.composer, form.post-editor");
  if (!form) { return; }
  var max = parseInt(form.getAttribute("data-max"), 10) || 5000;
  var fold = parseInt(form.getAttribute("data-fold"), 10) || 480;
  /* The words come from the page, in the reader's language (_fb_preview.html, preview_words). */
  function word(name, values) {
    var text = form.getAttribute("data-word-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }
  /* Per preview: the link and whether an image is attached. With an image the post goes out as a
     photo post whose text ends with the link; without, as a link post with its card. */
  var state = {};
  function stateOf(key) { return state[key] || (state[key] = {link: null, image: null}); }

  function preview(key) { return document.querySelector("[data-preview='" + key + "']"); }

  function showText(key, text) {
    var box = preview(key);
    var counter = document.querySelector("[data-counter='" + key + "']");
    if (counter) {
      counter.textContent = word("count", {count: text.length, max: max}) +
        (text.length > fold ? " — " + word("fold", {fold: fold}) : "");
      counter.classList.toggle("over", text.length > max);
    }
    if (!box) { return; }
    var target = box.querySelector("[data-role=text]");
    target.textContent = text.length > fold ? text.slice(0, fold) + "… " : text;
    if (text.length > fold) {
      var more = document.createElement("span");
      more.className = "fb-more";
      more.textContent = word("more");
      target.appendChild(more);
    }
  }

  function showLink(key, url) {
    var box = preview(key);
    if (!box) { return; }
    var current = stateOf(key);
    if (url !== undefined) { current.link = url; }
    if (current.image === null) { current.image = !box.querySelector("[data-role=image]").hidden; }
    if (current.link === null) { current.link = box.querySelector("[data-role=inline-link]").textContent; }
    var host = "";
    try { host = current.link ? new URL(current.link).hostname : ""; } catch (e) { host = ""; }
    box.querySelector("[data-role=link]").hidden = !host || current.image;
    box.querySelector("[data-role=domain]").textContent = host;
    var inline = box.querySelector("[data-role=inline-link]");
    inline.textContent = current.link || "";
    inline.hidden = !current.link || !current.image;
  }

  Array.prototype.forEach.call(form.querySelectorAll("[data-message]"), function (area) {
    var key = area.getAttribute("data-message");
    area.addEventListener("input", function () { area.setAttribute("data-touched", "1"); showText(key, area.value); });
    showText(key, area.value);
  });
  Array.prototype.forEach.call(form.querySelectorAll("[data-link]"), function (input) {
    var key = input.getAttribute("data-link");
    input.addEventListener("input", function () { input.setAttribute("data-touched", "1"); showLink(key, input.value); });
  });
  Array.prototype.forEach.call(form.querySelectorAll("[data-image]"), function (input) {
    var key = input.getAttribute("data-image");
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var box = preview(key);
      if (!file || !box) { return; }
      if (file.size > 8 * 1024 * 1024) {
        input.setCustomValidity(word("too-big"));
        input.reportValidity();
        return;
      }
      input.setCustomValidity("");
      var reader = new FileReader();
      reader.onload = function () {
        var img = box.querySelector("[data-role=image]");
        img.src = reader.result;  /* a data: URL, which the CSP allows for images */
        img.hidden = false;
        stateOf(key).image = true;
        showLink(key);
      };
      reader.readAsDataURL(file);
    });
  });

  /* The story, written once, flows into every variant that has not been edited yet. */
  var body = form.querySelector("[data-story-body]");
  var link = form.querySelector("[data-story-link]");
  var title = form.querySelector("#f-story_title");
  if (body) {
    body.addEventListener("input", function () {
      Array.prototype.forEach.call(form.querySelectorAll("[data-message]"), function (area) {
        if (!area.hasAttribute("data-touched")) {
          area.value = body.value;
          showText(area.getAttribute("data-message"), area.value);
        }
      });
    });
  }
  if (link) {
    link.addEventListener("input", function () {
      Array.prototype.forEach.call(form.querySelectorAll("[data-link]"), function (input) {
        if (!input.hasAttribute("data-touched")) {
          input.value = link.value;
          showLink(input.getAttribute("data-link"), input.value);
        }
      });
    });
  }
  if (title) {
    title.addEventListener("input", function () {
      Array.prototype.forEach.call(form.querySelectorAll("[data-role=title]"), function (el) { el.textContent = title.value; });
    });
  }
}());
