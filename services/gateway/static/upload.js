/* Upload widget: the file goes to the API with XHR to show a progress bar. Without this
   script the same form posts to the page route, which streams it on: nothing is lost. */
(function () {
  "use strict";

  function megabytes(form) {
    return form.getAttribute("data-max-mb");
  }

  function show(form, text, isError) {
    var status = form.querySelector("[data-upload-status]");
    status.textContent = text;
    status.className = "upload-status" + (isError ? " msg" : "");
    status.setAttribute("role", isError ? "alert" : "status");
  }

  function message(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.message) { return body.message; }
    } catch (e) { /* not JSON */ }
    return "Не удалось загрузить файл (ошибка " + xhr.status + "). Попробуйте ещё раз.";
  }

  function upload(form, event) {
    var input = form.querySelector("input[type=file]");
    if (!window.FormData || !input || !input.files || input.files.length !== 1) { return; }
    var file = input.files[0];
    var limit = parseFloat(form.getAttribute("data-max-bytes"));
    event.preventDefault();
    if (file.size === 0) { show(form, "Файл пустой: выберите файл с содержимым.", true); return; }
    if (limit && file.size > limit) {
      show(form, "Файл больше " + megabytes(form) + " МБ: такие файлы не принимаются.", true);
      return;
    }
    var bar = form.querySelector("[data-upload-progress]");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("data-api"));
    xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
    if (form.getAttribute("data-key")) { xhr.setRequestHeader("Idempotency-Key", form.getAttribute("data-key")); }
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) { return; }
      var percent = Math.floor((e.loaded / e.total) * 100);
      bar.value = percent;
      show(form, "Загружено " + percent + "%", false);
    });
    xhr.addEventListener("load", function () {
      button.disabled = false;
      if (xhr.status === 201) {
        var id = "";
        try { id = JSON.parse(xhr.responseText).id || ""; } catch (e) { /* keep empty */ }
        show(form, "Файл загружен.", false);
        window.location.assign(form.getAttribute("data-done").replace("{id}", encodeURIComponent(id)));
        return;
      }
      bar.hidden = true;
      show(form, message(xhr), true);
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      bar.hidden = true;
      show(form, "Соединение прервалось, файл не загружен. Попробуйте ещё раз.", true);
    });
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    show(form, "Загрузка…", false);
    xhr.send(new FormData(form));
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-upload]");
    for (var i = 0; i < forms.length; i += 1) {
      forms[i].addEventListener("submit", upload.bind(null, forms[i]));
    }
  });
}());
