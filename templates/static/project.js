// Fills in a project page's download counts from /packages.json (text only, never HTML).
"use strict";
(function () {
  const article = document.querySelector("article.project");
  if (!article) return;
  const name = article.dataset.package;
  fetch("/packages.json")
    .then((response) => response.json())
    .then((rows) => {
      // A package with no downloads counted yet has none: 0, not "unknown".
      const row = rows.find((r) => r[0] === name) ?? [name, 0, 0];
      article.querySelector('[data-downloads="recent"]').textContent = row[1].toLocaleString();
      article.querySelector('[data-downloads="all"]').textContent = row[2].toLocaleString();
    })
    .catch(() => {});
})();
