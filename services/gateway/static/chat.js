/* Live chat on top of the plain form of templates/_chat.html (which works without this file).
 *
 * - a WebSocket to /api/v1/applications/{id}/chat/ws?after=<last seq shown>: the server sends
 *   what came after it, then live messages, typing and read receipts; on a drop the page
 *   reconnects with the last seq it has (no gap, no duplicate: messages are keyed by seq);
 * - a message gets a client id when it is written and waits in a queue (kept in localStorage)
 *   until the server acknowledges it; the queue is resent after every reconnect and the server
 *   ignores a client id it has already seen, so a message is posted once;
 * - files are uploaded first, one by one with a progress bar (XHR to /api/v1/files);
 * - text is always put into the page with textContent: markup in messages stays text.
 */
(function () {
  "use strict";
  var root = document.querySelector("[data-chat]");
  if (!root || root.getAttribute("data-live") !== "1" || !("WebSocket" in window)) return;

  var appId = root.getAttribute("data-application");
  var me = root.getAttribute("data-account");
  var myRole = root.getAttribute("data-role");
  var otherRole = myRole === "staff" ? "consumer" : "staff";
  var log = root.querySelector("[data-chat-log]");
  var box = root.querySelector("[data-chat-box]") || log;  // the scrolling role=log around the list
  var form = root.querySelector("[data-chat-form]");
  var textarea = form.querySelector("textarea");
  var fileInput = form.querySelector("input[type=file]");
  var progress = root.querySelector("[data-chat-progress]");
  var statusEl = root.querySelector("[data-chat-status]");
  var typingEl = root.querySelector("[data-chat-typing]");
  var presenceEl = root.querySelector("[data-chat-presence]");
  var last = parseInt(root.getAttribute("data-last-seq"), 10) || 0;
  var otherRead = parseInt(root.getAttribute("data-other-read"), 10) || 0;
  var sentRead = 0;
  var queueKey = "lk-chat-queue:" + appId;
  var sock = null;
  var ready = false;
  var stopped = false;
  var backoff = 1000;
  var typingTimer = null;
  var lastTyping = 0;
  var retryTimer = null;
  var connection = 0;

  function say(text) { statusEl.textContent = text; }

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)lk_csrf=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var s = "";
    for (var i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
    return s;
  }

  // Times as the server shows them: in the grid company's zone (the page's data-tz), not the
  // browser's, labelled the same way: "05.03.2026 14:07 (МСК)" (services/gateway/format.py).
  var html = document.documentElement;
  var zoneLabel = html.getAttribute("data-tz-label") || "";
  var timeOptions = { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  var timeFormat;
  try {
    timeFormat = new Intl.DateTimeFormat("ru-RU", Object.assign({ timeZone: html.getAttribute("data-tz") || undefined }, timeOptions));
  } catch (e) {
    timeFormat = new Intl.DateTimeFormat("ru-RU", timeOptions);  // an unknown zone: the browser's
    zoneLabel = "";
  }
  function fmt(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var p = {};
    timeFormat.formatToParts(d).forEach(function (part) { p[part.type] = part.value; });
    return p.day + "." + p.month + "." + p.year + " " + p.hour + ":" + p.minute + (zoneLabel ? " (" + zoneLabel + ")" : "");
  }

  function sizeText(n) {
    if (n < 1024) return n + " Б";
    if (n < 1048576) return Math.round(n / 1024) + " КБ";
    return (n / 1048576).toFixed(1).replace(".", ",") + " МБ";
  }

  // queue ------------------------------------------------------------------------------------
  function loadQueue() {
    try { return JSON.parse(localStorage.getItem(queueKey) || "[]"); } catch (e) { return []; }
  }
  var queue = loadQueue();
  function saveQueue() {
    var stored = queue.map(function (item) {
      return { client_id: item.client_id, text: item.text, attachments: item.attachments, files: item.files };
    });
    try { localStorage.setItem(queueKey, JSON.stringify(stored)); } catch (e) { /* private mode: memory only */ }
  }
  function dequeue(clientId) {
    queue = queue.filter(function (item) { return item.client_id !== clientId; });
    saveQueue();
  }

  // Each queued message goes once per connection; after a reconnect the unacknowledged ones go
  // again with the same client id, and the server posts each client id only once.
  function flush() {
    if (!ready || !sock || sock.readyState !== WebSocket.OPEN) return;
    queue.forEach(function (item) {
      if (item.sentOn === connection) return;
      item.sentOn = connection;
      sock.send(JSON.stringify({ type: "send", client_id: item.client_id, text: item.text, attachments: item.attachments }));
    });
  }

  // rendering ----------------------------------------------------------------------------------
  function meta(author, at, mine) {
    var p = document.createElement("p");
    p.className = "chat-meta";
    var who = document.createElement("span");
    who.className = "chat-author";
    who.textContent = author;
    p.appendChild(who);
    p.appendChild(document.createTextNode(" "));
    var time = document.createElement("time");
    if (at) { time.setAttribute("datetime", at); time.textContent = fmt(at); }
    p.appendChild(time);
    if (mine) {
      var state = document.createElement("span");
      state.className = "chat-state";
      state.setAttribute("data-state", "");
      p.appendChild(document.createTextNode(" "));
      p.appendChild(state);
    }
    return p;
  }

  function body(li, text, files) {
    if (text) {
      var p = document.createElement("p");
      p.className = "chat-text";
      p.textContent = text;
      li.appendChild(p);
    }
    if (files && files.length) {
      var ul = document.createElement("ul");
      ul.className = "chat-files";
      ul.setAttribute("aria-label", "Вложения");
      files.forEach(function (f) {
        var item = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/api/v1/files/" + encodeURIComponent(f.id);
        a.textContent = f.name || "файл";
        item.appendChild(a);
        var size = document.createElement("span");
        size.className = "chat-size";
        size.textContent = " (" + sizeText(f.size || 0) + ")";
        item.appendChild(size);
        ul.appendChild(item);
      });
      li.appendChild(ul);
    }
  }

  function label(m) {
    if (m.author_id === me) return "Вы";
    if (m.author_role === "staff") return (m.author_name || "Сотрудник") + " (сетевая организация)";
    return m.author_name || "Заявитель";
  }

  function scrollDown() { box.scrollTop = box.scrollHeight; }

  function dropEmpty() {
    var empty = log.querySelector("[data-chat-empty]");
    if (empty) empty.remove();
  }

  function addMessage(m) {
    if (log.querySelector('[data-seq="' + m.seq + '"]')) return;
    var pending = m.client_id ? log.querySelector('[data-pending="' + m.client_id + '"]') : null;
    if (pending) pending.remove();
    dropEmpty();
    var mine = m.author_id === me;
    var li = document.createElement("li");
    li.className = "chat-msg " + (mine ? "mine" : "theirs");
    li.setAttribute("data-seq", String(m.seq));
    if (m.client_id) li.setAttribute("data-client", m.client_id);
    li.appendChild(meta(label(m), m.at, mine));
    body(li, m.text, m.attachments);
    log.appendChild(li);
    markStates();
    scrollDown();
  }

  function addPending(item) {
    dropEmpty();
    var li = document.createElement("li");
    li.className = "chat-msg mine pending";
    li.setAttribute("data-pending", item.client_id);
    li.appendChild(meta("Вы", "", true));
    body(li, item.text, item.files);
    li.querySelector("[data-state]").textContent = ready ? "отправляется…" : "в очереди: отправится при подключении";
    log.appendChild(li);
    scrollDown();
  }

  function markStates() {
    log.querySelectorAll(".chat-msg.mine[data-seq]").forEach(function (li) {
      var state = li.querySelector("[data-state]");
      if (state) state.textContent = parseInt(li.getAttribute("data-seq"), 10) <= otherRead ? "прочитано" : "доставлено";
    });
  }

  function showPresence(p) {
    if (!presenceEl || !p) return;
    var online, seen, text;
    if (myRole === "staff") {
      online = p.applicant_online; seen = p.applicant_last_seen;
      text = online ? "Заявитель в сети" : (seen ? "Заявитель был(а) в сети " + fmt(seen) : "Заявитель сейчас не в сети");
    } else {
      online = p.staff_online; seen = p.staff_last_seen;
      text = online ? "Сотрудник сетевой организации в сети"
        : (seen ? "Сотрудник был(а) в сети " + fmt(seen) : "Сотрудник сетевой организации сейчас не в сети");
    }
    presenceEl.textContent = text;
    presenceEl.classList.toggle("online", !!online);
  }

  function showTyping(f) {
    typingEl.textContent = (f.author_role === "staff" ? "Сотрудник" : "Заявитель") + " печатает…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 5000);
  }

  // read receipts ------------------------------------------------------------------------------
  function markRead() {
    if (!ready || document.visibilityState !== "visible" || last <= sentRead) return;
    sentRead = last;
    sock.send(JSON.stringify({ type: "read", up_to_seq: last }));
  }

  // the socket ---------------------------------------------------------------------------------
  function onFrame(f) {
    if (f.type === "message") {
      var m = f.message;
      if (m.seq <= last && log.querySelector('[data-seq="' + m.seq + '"]')) return;
      addMessage(m);
      if (m.seq > last) last = m.seq;
      if (m.author_id === me && m.client_id) dequeue(m.client_id);
      if (m.author_id !== me) { typingEl.textContent = ""; markRead(); }
    } else if (f.type === "ready") {
      ready = true;
      root.setAttribute("data-connection", "live");
      backoff = 1000;
      say("");
      if (f.read) { otherRead = f.read[otherRole] || 0; markStates(); }
      showPresence(f.presence);
      log.querySelectorAll("[data-pending] [data-state]").forEach(function (s) { s.textContent = "отправляется…"; });
      flush();
      markRead();
    } else if (f.type === "ack") {
      dequeue(f.client_id);
    } else if (f.type === "error") {
      if (f.client_id && f.status === 429) {
        say(f.message);
        queue.forEach(function (item) { if (item.client_id === f.client_id) item.sentOn = 0; });
        clearTimeout(retryTimer);
        retryTimer = setTimeout(flush, 5000);  // stays queued, goes when allowed
      } else if (f.client_id) {
        dequeue(f.client_id);
        var failed = log.querySelector('[data-pending="' + f.client_id + '"]');
        if (failed) {
          failed.classList.add("failed");
          failed.querySelector("[data-state]").textContent = "не отправлено: " + f.message;
        }
        say(f.message);
      }
    } else if (f.type === "typing") {
      showTyping(f);
    } else if (f.type === "read") {
      if (f.read) { otherRead = f.read[otherRole] || otherRead; markStates(); }
    } else if (f.type === "presence") {
      showPresence(f);
    }
  }

  function connect() {
    if (stopped) return;
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    connection += 1;
    sock = new WebSocket(proto + "//" + location.host + root.getAttribute("data-ws") + "?after=" + last);
    sock.onmessage = function (ev) {
      try { onFrame(JSON.parse(ev.data)); } catch (e) { /* ignore a malformed frame */ }
    };
    sock.onclose = function (ev) {
      ready = false;
      root.setAttribute("data-connection", "offline");
      sentRead = 0;
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 4404) {
        stopped = true;
        say(ev.code === 4401 ? "Сеанс завершён: войдите снова, чтобы продолжить переписку." : "Переписка недоступна.");
        return;
      }
      say("Нет соединения. Сообщения будут отправлены при восстановлении связи.");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }

  // uploads ------------------------------------------------------------------------------------
  function upload(file) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/files");
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 100);
      };
      xhr.onload = function () {
        var answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        if (xhr.status === 201 && answer.id) {
          resolve({ id: String(answer.id), name: answer.name || file.name, size: answer.size || file.size });
        } else {
          reject(new Error("«" + file.name + "»: " + (answer.message || "файл не принят")));
        }
      };
      xhr.onerror = function () { reject(new Error("«" + file.name + "»: нет соединения, файл не загружен")); };
      var data = new FormData();
      data.append("file", file);
      xhr.send(data);
    });
  }

  function uploadAll(files) {
    var done = [];
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file, i) {
      chain = chain.then(function () {
        progress.hidden = false;
        progress.value = 0;
        say("Загрузка файла " + (i + 1) + " из " + files.length + ": " + file.name);
        return upload(file).then(function (meta) { done.push(meta); });
      });
    });
    return chain.then(function () { progress.hidden = true; return done; });
  }

  // the form -----------------------------------------------------------------------------------
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = textarea.value;
    var files = fileInput.files || [];
    if (!text.trim() && !files.length) { say("Напишите сообщение или приложите файл."); textarea.focus(); return; }
    if (text.trim().length > 4000) { say("Сообщение длиннее 4000 символов. Сократите его."); return; }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    uploadAll(files).then(function (uploaded) {
      var item = { client_id: newId(), text: text, attachments: uploaded.map(function (f) { return f.id; }), files: uploaded };
      queue.push(item);
      saveQueue();
      addPending(item);
      textarea.value = "";
      fileInput.value = "";
      say(ready ? "" : "Нет соединения: сообщение в очереди и будет отправлено при подключении.");
      flush();
    }).catch(function (err) {
      progress.hidden = true;
      say("Файлы не приняты: " + err.message);
    }).then(function () { button.disabled = false; textarea.focus(); });
  });

  textarea.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit(); else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  textarea.addEventListener("input", function () {
    var now = Date.now();
    if (ready && now - lastTyping > 3000) {
      lastTyping = now;
      sock.send(JSON.stringify({ type: "typing" }));
    }
  });

  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("focus", markRead);
  window.addEventListener("online", function () { if (!ready && !stopped) { backoff = 1000; } });

  log.querySelectorAll("time[datetime]").forEach(function (t) {
    var text = fmt(t.getAttribute("datetime"));
    if (text) t.textContent = text;
  });
  queue.forEach(addPending);
  scrollDown();
  connect();
})();
