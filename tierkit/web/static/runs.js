// The runs page: follows a grading job (polls /app/runs/jobs/ID, moves the progress bar, reloads
// the page when the job ends so the new run is in the list), and asks before publishing a run.
// Without this script the page still works: the job panel has a refresh link, and publishing
// needs no confirmation dialog.
(function () {
  "use strict";
  var EVERY = 1000; // ms between polls
  var panel = document.getElementById("job");
  var failures = 0; // polls that failed in a row (signed out, server gone): give up after a few

  function show(job) {
    var bar = document.getElementById("job-bar");
    var words = document.getElementById("job-words");
    if (bar) {
      bar.setAttribute("aria-valuenow", String(job.percent));
      if (bar.firstElementChild) { bar.firstElementChild.style.width = job.percent + "%"; }
    }
    if (words) { words.textContent = job.words + " · " + job.percent + "%"; }
  }

  function poll(id) {
    fetch("/app/runs/jobs/" + encodeURIComponent(id), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (job) {
        failures = 0;
        show(job);
        if (job.finished) { window.location.replace(job.url); } else { window.setTimeout(function () { poll(id); }, EVERY); }
      })
      .catch(function () {
        failures += 1;
        if (failures < 10) { window.setTimeout(function () { poll(id); }, EVERY * 3); return; }
        var refresh = document.getElementById("job-refresh");
        if (refresh) { refresh.hidden = false; }
      });
  }

  if (panel) {
    var state = panel.getAttribute("data-state");
    if (state === "queued" || state === "running") {
      var refresh = document.getElementById("job-refresh");
      if (refresh) { refresh.hidden = true; }
      poll(panel.getAttribute("data-job"));
    }
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
