// Package search for /packages.html: loads /packages.json ([name, recent, all] rows) once and
// filters it as the user types. Names are set with textContent, never as HTML.
"use strict";
(function () {
  const input = document.getElementById("search");
  const status = document.getElementById("search-status");
  const table = document.getElementById("search-results");
  const body = table.querySelector("tbody");
  const LIMIT = 100;
  let rows = [];

  function cell(tr, text) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function show() {
    const query = input.value.trim().toLowerCase().replace(/[-_.]+/g, "-");
    body.replaceChildren();
    if (!query) {
      table.hidden = true;
      status.textContent = rows.length.toLocaleString() + " packages";
      return;
    }
    const found = rows.filter((r) => r[0].includes(query));
    found.sort((a, b) => (b[0] === query) - (a[0] === query) || b[1] - a[1]);
    for (const [name, recent, all] of found.slice(0, LIMIT)) {
      const tr = document.createElement("tr");
      const link = document.createElement("a");
      link.href = "/project/" + encodeURIComponent(name) + "/";
      link.textContent = name;
      cell(tr, "").appendChild(link);
      cell(tr, recent.toLocaleString());
      cell(tr, all.toLocaleString());
      body.appendChild(tr);
    }
    table.hidden = found.length === 0;
    status.textContent = found.length > LIMIT
      ? `${found.length.toLocaleString()} matches; showing the ${LIMIT} most downloaded`
      : `${found.length.toLocaleString()} matches`;
  }

  fetch("/packages.json")
    .then((response) => response.json())
    .then((data) => {
      rows = data;
      const query = new URLSearchParams(location.search).get("q");
      if (query) input.value = query;
      show();
    })
    .catch(() => status.textContent = "The package list could not be loaded.");
  input.addEventListener("input", show);
})();
