// Import page: upload the file with XMLHttpRequest so the browser can show upload progress,
// then go to the job page, which follows the import itself. Messages are set as text only.
(function () {
  "use strict";
  const form = document.getElementById("import-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const fill = bar.querySelector("span");
  const status = document.getElementById("upload-status");
  const errorBox = document.getElementById("upload-error");
  const button = form.querySelector("button[type=submit]");

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (e) {
      const input = form.querySelector("input[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }
  }

  function setProgress(share) {
    const percent = Math.max(0, Math.min(100, share * 100));
    fill.style.width = percent.toFixed(1) + "%";
    bar.setAttribute("aria-valuenow", percent.toFixed(0));
  }

  function fail(message) {
    errorBox.textContent = message;
    status.textContent = "";
    bar.hidden = true;
    button.disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.textContent = "";
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        setProgress(e.loaded / e.total);
        status.textContent = "Uploading… " + Math.round((100 * e.loaded) / e.total) + "%";
      }
    });
    xhr.upload.addEventListener("load", function () {
      setProgress(1);
      status.textContent = "Uploaded; starting the import…";
    });
    xhr.addEventListener("load", function () {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = {};
      }
      const target = typeof body.redirect === "string" ? body.redirect : "";
      if (xhr.status >= 200 && xhr.status < 300 && target.startsWith("/") && !target.startsWith("//")) {
        window.location.assign(target);
      } else {
        fail(body.error || "The upload failed (HTTP " + xhr.status + ").");
      }
    });
    xhr.addEventListener("error", function () {
      fail("The upload failed: the connection was lost.");
    });
    bar.hidden = false;
    setProgress(0);
    button.disabled = true;
    status.textContent = "Uploading…";
    xhr.send(new FormData(form));
  });
})();
