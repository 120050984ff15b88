// Worktrail site: optional enhancements. Every page works without this file.
// A live filter for the task table and the search list: rows whose text does not contain the
// query are hidden. Nothing is fetched, so it also works when the site is opened from disk.
(function () {
  "use strict";

  function setUp(box) {
    var target = document.getElementById(box.getAttribute("data-filter-for"));
    var input = box.querySelector("input");
    var count = box.querySelector(".filter-count");
    if (!target || !input) {
      return;
    }
    var items = target.querySelectorAll("[data-search]");
    var template = count ? count.getAttribute("data-template") || "" : "";

    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      for (var i = 0; i < items.length; i += 1) {
        var text = items[i].getAttribute("data-search") || "";
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        items[i].hidden = !match;
        if (match) {
          shown += 1;
        }
      }
      if (count) {
        count.textContent = words.length
          ? template.replace("{shown}", String(shown)).replace("{total}", String(items.length))
          : "";
      }
    }

    input.addEventListener("input", apply);
    box.hidden = false;
    var query = new URLSearchParams(window.location.search).get("q");
    if (query) {
      input.value = query;
    }
    apply();
  }

  function start() {
    var boxes = document.querySelectorAll("[data-filter-for]");
    for (var i = 0; i < boxes.length; i += 1) {
      setUp(boxes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
