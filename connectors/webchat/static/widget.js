/*
 * Switchboard webchat widget. Plain JavaScript, no build step, no
 * dependencies.
 *
 * The chat page at /webchat/{instance}/ loads it in "page" mode. Any other
 * site (one listed in the instance's allowed_origins) embeds it with
 *
 *   <script src="https://chat.example.com/webchat/default/widget.js" async></script>
 *
 * which adds a chat button to the bottom right corner of the page. Every
 * address it uses is derived from the script's own URL.
 *
 * Protocol (see connectors/webchat's package documentation):
 *   POST session {"token"}          -> {"visitor", "token", "title", "greeting"}
 *   GET  ws?token&after&epoch       -> WebSocket: {"type":"hello"}, then {"type":"message"} frames
 *   GET  messages?after&epoch       -> {"epoch", "last", "reset", "messages"} (long-poll)
 *   POST /v1/webhooks/webchat/{instance} {"id", "text", "choice"?} with Authorization: Bearer token
 *
 * A reply may carry "choices" ([{"id", "title", "description"?}]) and a
 * "menu" label: they show as buttons under it, or as a list behind a
 * button with that label. A tap sends the title as the visitor's text
 * with the choice's id as "choice".
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) return;

  var scriptURL = new URL(script.src, location.href);
  var base = new URL("./", scriptURL); // .../webchat/{instance}/
  var segments = base.pathname.split("/").filter(Boolean);
  var instance = decodeURIComponent(segments[segments.length - 1] || "default");
  var root = new URL("../../", base);
  var webhookURL = new URL("v1/webhooks/webchat/" + encodeURIComponent(instance), root).href;
  var mode = script.getAttribute("data-mode") === "page" ? "page" : "embed";
  var params = new URLSearchParams(mode === "page" ? location.search : scriptURL.search);
  var forcePoll = params.get("transport") === "poll" || script.getAttribute("data-transport") === "poll";
  var storeKey = "switchboard.webchat:" + base.href;
  var MAX_CACHED = 200;

  if (mode === "embed" && document.querySelector("[data-switchboard-webchat='" + base.href + "']")) return; // loaded twice

  // ---- storage ------------------------------------------------------------

  var state = { visitor: "", token: "", epoch: "", last: 0, epochs: [], transcript: [], profile: null, receipts: {} };
  function load() {
    try {
      var s = JSON.parse(localStorage.getItem(storeKey) || "null");
      if (s && typeof s.token === "string") {
        state.visitor = s.visitor || "";
        state.token = s.token;
        state.epoch = s.epoch || "";
        state.last = s.last || 0;
        state.epochs = Array.isArray(s.epochs) ? s.epochs : [];
        state.transcript = Array.isArray(s.transcript) ? s.transcript : [];
        state.profile = s.profile && typeof s.profile === "object" ? s.profile : null;
        state.receipts = s.receipts && typeof s.receipts === "object" ? s.receipts : {};
      }
    } catch (e) { /* storage disabled or corrupt: start afresh */ }
  }
  var saveTimer = 0;
  function save() {
    if (!saveTimer) saveTimer = setTimeout(flush, 50);
  }
  function flush() {
    clearTimeout(saveTimer);
    saveTimer = 0;
    try {
      localStorage.setItem(storeKey, JSON.stringify({
        visitor: state.visitor, token: state.token, epoch: state.epoch, last: state.last,
        epochs: state.epochs.slice(-20), transcript: state.transcript.slice(-MAX_CACHED),
        profile: state.profile, receipts: state.receipts
      }));
    } catch (e) { /* quota or disabled: the session still works until reload */ }
  }
  window.addEventListener("pagehide", function () { if (saveTimer) flush(); });

  // ---- DOM ----------------------------------------------------------------

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  var host;
  if (mode === "page") {
    host = document.getElementById(script.getAttribute("data-target") || "sbwc") || document.body.appendChild(el("div"));
  } else {
    host = document.body.appendChild(el("div", { "class": "sbwc-embed-host" }));
  }
  host.setAttribute("data-switchboard-webchat", base.href);
  var title = host.getAttribute("data-title") || "Chat";
  var greeting = host.getAttribute("data-greeting") || "";
  var shadow = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  shadow.appendChild(el("link", { rel: "stylesheet", href: new URL("widget.css", base).href }));

  var uid = "sbwc-" + Math.random().toString(36).slice(2, 8);
  var wrap = el("div", { "class": "sbwc sbwc-" + mode });
  shadow.appendChild(wrap);

  var launcher = null;
  var panel = el("section", { "class": "sbwc-panel", id: uid + "-panel", "aria-labelledby": uid + "-title" });
  if (mode === "embed") {
    launcher = el("button", { type: "button", "class": "sbwc-launcher", "aria-expanded": "false", "aria-controls": uid + "-panel", "aria-label": "Open chat" });
    launcher.innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z" transform="translate(-1 0)"/></svg>';
    launcher.appendChild(el("span", { "class": "sbwc-badge", hidden: "" }));
    panel.hidden = true;
    wrap.appendChild(panel);
    wrap.appendChild(launcher);
  } else {
    wrap.appendChild(panel);
  }

  var header = el("header", { "class": "sbwc-header" });
  var titleEl = el("h1", { "class": "sbwc-title", id: uid + "-title" }, title);
  var statusEl = el("p", { "class": "sbwc-status", role: "status", "data-state": "" });
  var statusDot = el("span", { "class": "sbwc-dot", "aria-hidden": "true" });
  var statusText = el("span", {}, "Connecting…");
  statusEl.appendChild(statusDot);
  statusEl.appendChild(statusText);
  var heading = el("div", { "class": "sbwc-heading" });
  heading.appendChild(titleEl);
  heading.appendChild(statusEl);
  header.appendChild(heading);
  if (mode === "embed") {
    var closeBtn = el("button", { type: "button", "class": "sbwc-close", "aria-label": "Close chat" }, "×");
    closeBtn.addEventListener("click", function () { setOpen(false); launcher.focus(); });
    header.appendChild(closeBtn);
  }
  panel.appendChild(header);

  var log = el("ol", { "class": "sbwc-log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
  var greetingEl = el("li", { "class": "sbwc-msg sbwc-agent sbwc-greeting" });
  var greetingText = el("p", { "class": "sbwc-text" }, greeting);
  greetingEl.appendChild(greetingText);
  greetingEl.hidden = !greeting;
  log.appendChild(greetingEl);
  panel.appendChild(log);

  // The typing indicator sits under the conversation, outside the log, so
  // screen readers hear it once (role status) rather than as a message.
  var typingEl = el("p", { "class": "sbwc-typing", role: "status", hidden: "" });
  panel.appendChild(typingEl);

  // The pre-chat form, when the instance asks for one (prechat: name,email),
  // comes before the composer until the visitor has filled it.
  var prechat = el("form", { "class": "sbwc-prechat", hidden: "", "aria-label": "Before we start" });
  prechat.appendChild(el("p", { "class": "sbwc-prechat-intro" }, "Before we start, tell us who you are."));
  var prechatFields = {};
  [["name", "Your name", "text", "name"], ["email", "Your email", "email", "email"]].forEach(function (f) {
    var id = uid + "-pre-" + f[0];
    var row = el("div", { "class": "sbwc-field", "data-field": f[0], hidden: "" });
    row.appendChild(el("label", { "for": id }, f[1]));
    var inp = el("input", { id: id, name: f[0], type: f[2], autocomplete: f[3], maxlength: f[0] === "email" ? "254" : "128" });
    row.appendChild(inp);
    prechat.appendChild(row);
    prechatFields[f[0]] = { row: row, input: inp };
  });
  var prechatError = el("p", { "class": "sbwc-prechat-error", role: "alert" });
  prechat.appendChild(prechatError);
  prechat.appendChild(el("button", { type: "submit", "class": "sbwc-send sbwc-start" }, "Start chat"));
  panel.appendChild(prechat);

  var newChat = el("div", { "class": "sbwc-newchat", hidden: "" });
  var newChatBtn = el("button", { type: "button", "class": "sbwc-send" }, "Start a new conversation");
  newChat.appendChild(newChatBtn);
  panel.appendChild(newChat);

  var form = el("form", { "class": "sbwc-composer" });
  var label = el("label", { "for": uid + "-input", "class": "sbwc-sr" }, "Message");
  var input = el("textarea", { id: uid + "-input", "class": "sbwc-input", rows: "1", maxlength: "2000", placeholder: "Write a message…", autocomplete: "off", enterkeyhint: "send" });
  var sendBtn = el("button", { type: "submit", "class": "sbwc-send" }, "Send");
  form.appendChild(label);
  // Attaching a file: a labelled button opens the file picker.
  var fileInput = el("input", { type: "file", "class": "sbwc-file", id: uid + "-file", tabindex: "-1", "aria-hidden": "true" });
  var attachBtn = el("button", { type: "button", "class": "sbwc-attach", "aria-label": "Attach a file", title: "Attach a file" });
  attachBtn.innerHTML = '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" d="M20 11.5 12.4 19a5 5 0 0 1-7.1-7.1l7.6-7.6a3.4 3.4 0 0 1 4.8 4.8l-7.5 7.5a1.7 1.7 0 0 1-2.4-2.4l6.9-6.9"/></svg>';
  attachBtn.addEventListener("click", function () { fileInput.click(); });
  form.appendChild(fileInput);
  form.appendChild(attachBtn);
  form.appendChild(input);
  form.appendChild(sendBtn);
  panel.appendChild(form);

  function setTitle(t, g) {
    if (t) { title = t; titleEl.textContent = t; if (mode === "page") document.title = t; }
    if (g != null) { greetingText.textContent = g; greetingEl.hidden = !g; }
  }

  var STATUS = {
    connecting: "Connecting…",
    online: "Online",
    polling: "Online (slow connection mode)",
    reconnecting: "Reconnecting…",
    offline: "Offline: retrying…"
  };
  function setStatus(s) {
    if (statusEl.getAttribute("data-state") === s) return;
    statusEl.setAttribute("data-state", s);
    statusText.textContent = STATUS[s] || s;
    host.setAttribute("data-status", s);
  }

  var open = mode === "page";
  var unread = 0;
  function setOpen(v) {
    open = v;
    if (!launcher) return;
    panel.hidden = !v;
    launcher.setAttribute("aria-expanded", String(v));
    launcher.setAttribute("aria-label", v ? "Close chat" : "Open chat");
    if (v) {
      unread = 0;
      updateBadge();
      start();
      scrollDown(true);
      (form.hidden && prechatWants.length ? prechatFields[prechatWants[0]].input : input).focus();
      readVisible();
    }
  }
  function updateBadge() {
    if (!launcher) return;
    var b = launcher.querySelector(".sbwc-badge");
    b.hidden = unread === 0;
    b.textContent = unread > 9 ? "9+" : String(unread);
  }
  if (launcher) {
    launcher.addEventListener("click", function () { setOpen(!open); });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { setOpen(false); launcher.focus(); }
    });
  }

  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function scrollDown(force) {
    if (force || nearBottom()) log.scrollTop = log.scrollHeight;
  }

  // ---- messages -----------------------------------------------------------

  var nodes = {}; // "epoch:seq" and "c:clientID" -> <li>

  function timeText(at) {
    var d = at ? new Date(at) : new Date();
    if (isNaN(d.getTime())) d = new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function noticeText(m) {
    var who = m.agent || "An agent";
    switch (m.kind) {
      case "queued":
        return "Connecting you to an agent…" + (m.position > 0 ? " You are number " + m.position + " in line." : "");
      case "joined": return who + " joined the chat";
      case "left": return who + " left the chat";
      case "closed": return "Conversation closed";
    }
    return "";
  }

  function makeNotice(m) {
    var li = el("li", { "class": "sbwc-msg sbwc-notice", "data-kind": m.kind || "" });
    li.appendChild(el("p", { "class": "sbwc-text" }, noticeText(m)));
    return li;
  }

  function makeItem(from, text, media, at, agent) {
    var li = el("li", { "class": "sbwc-msg " + (from === "visitor" ? "sbwc-visitor" : "sbwc-agent") });
    if (from !== "visitor") {
      // A live agent's reply shows their name and initial; the flow's
      // replies are the bot's.
      li.classList.add(agent ? "sbwc-person" : "sbwc-bot");
      var by = el("p", { "class": "sbwc-by" });
      var avatar = el("span", { "class": "sbwc-avatar", "aria-hidden": "true" }, agent ? agent.trim().charAt(0).toUpperCase() : "");
      by.appendChild(avatar);
      by.appendChild(el("span", { "class": "sbwc-name" }, agent || title));
      if (!agent) by.appendChild(el("span", { "class": "sbwc-tag" }, "bot"));
      li.appendChild(by);
      if (agent) li.setAttribute("data-agent", agent);
    } else {
      li.appendChild(el("span", { "class": "sbwc-sr" }, "You: "));
    }
    li.appendChild(el("p", { "class": "sbwc-text" }, text || ""));
    (media || []).forEach(function (u) {
      var url;
      try { url = new URL(u, base); } catch (e) { return; }
      if (url.protocol !== "https:" && url.protocol !== "http:") return;
      var named = url.searchParams.get("name") || url.searchParams.get("filename");
      var name = named || (url.origin === location.origin ? "Attachment" : decodeURIComponent(url.pathname.split("/").pop() || url.host));
      var a = el("a", { "class": "sbwc-media", href: url.href, target: "_blank", rel: "noopener noreferrer" });
      // A file of this server (the visitor's, or one an agent sent) is
      // tried as a picture, and shown as a link if it is none.
      if (url.origin === location.origin && (!named || /\.(png|jpe?g|gif|webp)$/i.test(named))) {
        var img = el("img", { src: url.href, alt: name });
        // The picture's height comes when it loads: keep the newest in view.
        img.addEventListener("load", function () { scrollDown(log.scrollHeight - log.scrollTop - log.clientHeight < 80 + img.offsetHeight); });
        img.addEventListener("error", function () { a.textContent = name; });
        a.appendChild(img);
      } else {
        a.textContent = name;
      }
      li.appendChild(a);
    });
    var meta = el("span", { "class": "sbwc-meta" });
    meta.appendChild(el("time", { datetime: at || new Date().toISOString() }, timeText(at)));
    li.appendChild(meta);
    return li;
  }

  function setItemState(li, s, retry) {
    li.setAttribute("data-state", s);
    li.classList.toggle("sbwc-pending", s === "sending");
    li.classList.toggle("sbwc-failed", s === "failed");
    var meta = li.querySelector(".sbwc-meta");
    var note = meta.querySelector(".sbwc-note");
    if (note) meta.removeChild(note);
    if (s === "sending") {
      meta.appendChild(el("span", { "class": "sbwc-note" }, " · Sending…"));
    } else if (s === "sent" && li.classList.contains("sbwc-visitor")) {
      meta.appendChild(el("span", { "class": "sbwc-note" }, " · Delivered"));
    } else if (s === "read") {
      meta.appendChild(el("span", { "class": "sbwc-note" }, " · Read"));
    } else if (s === "failed") {
      note = el("span", { "class": "sbwc-note" }, " · Not sent. ");
      var b = el("button", { type: "button", "class": "sbwc-retry" }, "Retry");
      b.addEventListener("click", retry);
      note.appendChild(b);
      meta.appendChild(note);
    }
  }

  function epochIndex(epoch) {
    var i = state.epochs.indexOf(epoch);
    if (i < 0) { state.epochs.push(epoch); i = state.epochs.length - 1; }
    return i;
  }

  // place puts a confirmed message at its position: by epoch, then
  // sequence number; messages still being sent stay last.
  function place(li, order) {
    li.setAttribute("data-order", String(order));
    for (var n = log.firstElementChild; n; n = n.nextElementSibling) {
      if (n === li || n === greetingEl) continue;
      var o = n.getAttribute("data-order");
      if (o === null || Number(o) > order) {
        if (n !== li.nextElementSibling) log.insertBefore(li, n);
        return;
      }
    }
    log.appendChild(li);
  }

  // show renders a message from the server (or the cache) once.
  function show(epoch, m, fromCache) {
    var key = epoch + ":" + m.seq;
    if (nodes[key]) return false;
    var li = m.id && m.from === "visitor" ? nodes["c:" + m.id] : null;
    if (li) {
      setItemState(li, "sent");
    } else if (m.from === "system") {
      li = makeNotice(m);
      // An agent who wrapped up and then completed leaves once.
      if (m.kind === "left" && host.getAttribute("data-conversation") === "left") li.hidden = true;
    } else {
      li = makeItem(m.from, m.text, m.media, m.at, m.agent);
      if (m.id) nodes["c:" + m.id] = li;
    }
    li.setAttribute("data-seq", String(m.seq));
    nodes[key] = li;
    if (m.from === "agent") makeChoices(li, m);
    else if (m.choice) li.setAttribute("data-choice", m.choice);
    if (m.from === "agent" && m.agent) {
      hideTyping();
      markRead();
      receipt(epoch, m.seq, "delivered");
      li.setAttribute("data-message", state.visitor + ":" + epoch + ":" + m.seq);
      pendingReads.push(li);
    }
    if (m.from === "system") conversationState(m, fromCache);
    var stick = nearBottom() || m.from === "visitor";
    place(li, epochIndex(epoch) * 1e9 + m.seq);
    settle();
    if (!fromCache) {
      state.transcript.push({ epoch: epoch, seq: m.seq, id: m.id || "", from: m.from, text: m.text, media: m.media || [], at: m.at,
        choices: m.choices || [], menu: m.menu || "", choice: m.choice || "", agent: m.agent || "", kind: m.kind || "",
        position: m.position || 0 });
      if (state.transcript.length > MAX_CACHED * 2) state.transcript = state.transcript.slice(-MAX_CACHED);
      if (m.from !== "visitor" && !open) { unread++; updateBadge(); }
    }
    scrollDown(stick);
    readVisible();
    return true;
  }

  // ---- what happens to the conversation -----------------------------------

  // conversationState follows the notices: while an agent is in the chat
  // the status says so; once they left or the conversation closed, a
  // button offers a new conversation.
  function conversationState(m, fromCache) {
    if (m.kind === "joined") { host.setAttribute("data-agent", m.agent || ""); newChat.hidden = true; }
    if (m.kind === "left" || m.kind === "closed") {
      host.removeAttribute("data-agent");
      hideTyping();
      newChat.hidden = false;
    }
    if (m.kind === "queued") newChat.hidden = true;
    host.setAttribute("data-conversation", m.kind);
  }

  var typingTimer = 0;
  function showTyping(agent) {
    typingEl.textContent = (agent || "The agent") + " is typing…";
    typingEl.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, 6000); // an agent who stopped typing stops sending
    scrollDown(false);
  }
  function hideTyping() {
    clearTimeout(typingTimer);
    typingEl.hidden = true;
    typingEl.textContent = "";
  }

  // An agent's reply means they read what came before it.
  function markRead() {
    Array.prototype.forEach.call(log.querySelectorAll(".sbwc-visitor[data-state='sent']"), function (n) { setItemState(n, "read"); });
  }

  // Read receipts: "delivered" when a reply of an agent reaches the page,
  // "read" once it is on screen with the chat open; each once.
  var pendingReads = [];
  function receipt(epoch, seq, status) {
    var id = state.visitor + ":" + epoch + ":" + seq;
    var k = id + ":" + status;
    if (!state.visitor || state.receipts[k]) return;
    state.receipts[k] = 1;
    var keys = Object.keys(state.receipts);
    if (keys.length > 400) keys.slice(0, 200).forEach(function (x) { delete state.receipts[x]; });
    save();
    fetch(webhookURL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + state.token },
      body: JSON.stringify({ receipt: { message: id, status: status } })
    }).then(function (r) { if (!r.ok) delete state.receipts[k]; }, function () { delete state.receipts[k]; });
  }
  function readVisible() {
    if (!open || document.visibilityState === "hidden" || !pendingReads.length) return;
    var lr = log.getBoundingClientRect();
    pendingReads = pendingReads.filter(function (li) {
      var r = li.getBoundingClientRect();
      if (r.bottom <= lr.top || r.top >= lr.bottom || !li.isConnected) return li.isConnected;
      var id = li.getAttribute("data-message").split(":");
      receipt(id[1], Number(id[2]), "read");
      li.setAttribute("data-read", "");
      return false;
    });
  }
  log.addEventListener("scroll", readVisible);
  document.addEventListener("visibilitychange", readVisible);

  // receive applies what the server says about the mailbox: a hello, a
  // message frame or a poll answer.
  function position(epoch, reset) {
    if (reset || epoch !== state.epoch) {
      state.epoch = epoch;
      state.last = 0;
    }
  }
  function receive(epoch, m) {
    if (epoch !== state.epoch) position(epoch, true);
    show(epoch, m, false);
    if (m.seq > state.last) state.last = m.seq;
    save();
  }

  function clearConversation() {
    for (var k in nodes) if (Object.prototype.hasOwnProperty.call(nodes, k) && nodes[k].parentNode) nodes[k].parentNode.removeChild(nodes[k]);
    nodes = {};
    state.transcript = [];
    state.epochs = [];
    state.epoch = "";
    state.last = 0;
    pendingReads = [];
    hideTyping();
    newChat.hidden = true;
    host.removeAttribute("data-conversation");
  }

  // ---- choices ------------------------------------------------------------

  // A reply's choices are buttons under it or, when it has a menu label, a
  // menu that a button with that label opens. They belong to the question:
  // once a visitor's message follows it (a tap, or an answer typed
  // instead), they are disabled, on a reload too.
  var menus = 0;

  function activeElement() {
    return shadow.activeElement !== undefined ? shadow.activeElement : document.activeElement;
  }

  function choiceButton(li, c, cls) {
    var b = el("button", { type: "button", "class": cls, "data-choice": c.id });
    b.appendChild(el("span", { "class": "sbwc-choice-title" }, c.title));
    if (c.description) b.appendChild(el("span", { "class": "sbwc-choice-desc" }, c.description));
    b.addEventListener("click", function () { pick(li, c); });
    return b;
  }

  function makeChoices(li, m) {
    var list = (Array.isArray(m.choices) ? m.choices : []).filter(function (c) {
      return c && typeof c.id === "string" && c.id && typeof c.title === "string";
    });
    if (!list.length) return;
    li.classList.add("sbwc-asks");
    var box;
    if (typeof m.menu === "string" && m.menu) {
      box = el("div", { "class": "sbwc-choices sbwc-choices-menu" });
      box.appendChild(makeMenu(li, m.menu, list));
    } else {
      box = el("div", { "class": "sbwc-choices", role: "group", "aria-label": "Choices" });
      list.forEach(function (c) { box.appendChild(choiceButton(li, c, "sbwc-choice")); });
    }
    li.insertBefore(box, li.querySelector(".sbwc-meta"));
  }

  // makeMenu follows the menu button pattern of the WAI-ARIA practices:
  // Enter, Space or an arrow key on the button opens the menu and focuses
  // an item; arrows, Home and End move; Escape closes it and gives the
  // focus back to the button; Tab or a click elsewhere closes it.
  function makeMenu(li, label, list) {
    var id = uid + "-menu-" + (++menus);
    var frag = document.createDocumentFragment();
    var toggle = el("button", { type: "button", "class": "sbwc-menu-toggle", id: id + "-button", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": id }, label);
    var menu = el("ul", { "class": "sbwc-menu", id: id, role: "menu", "aria-labelledby": id + "-button", hidden: "" });
    list.forEach(function (c) {
      var item = el("li", { role: "none" });
      var b = choiceButton(li, c, "sbwc-menu-item");
      b.setAttribute("role", "menuitem");
      b.tabIndex = -1;
      item.appendChild(b);
      menu.appendChild(item);
    });
    function items() { return Array.prototype.slice.call(menu.querySelectorAll("button:not([disabled])")); }
    function focusItem(i) {
      var all = items();
      if (all.length) all[(i + all.length) % all.length].focus();
    }
    function setMenuOpen(v, focus) {
      menu.hidden = !v;
      toggle.setAttribute("aria-expanded", String(v));
      if (!v) return;
      // The whole list in view, not just the item focused.
      var r = menu.getBoundingClientRect(), lr = log.getBoundingClientRect();
      if (r.bottom > lr.bottom) log.scrollTop += Math.min(r.bottom - lr.bottom + 8, r.top - lr.top - 8);
      focusItem(focus);
    }
    toggle.addEventListener("click", function () { setMenuOpen(menu.hidden, 0); });
    toggle.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        setMenuOpen(true, e.key === "ArrowDown" ? 0 : -1);
      }
    });
    menu.addEventListener("keydown", function (e) {
      var i = items().indexOf(activeElement());
      if (e.key === "ArrowDown") focusItem(i + 1);
      else if (e.key === "ArrowUp") focusItem(i - 1);
      else if (e.key === "Home") focusItem(0);
      else if (e.key === "End") focusItem(-1);
      else if (e.key === "Escape") { e.stopPropagation(); setMenuOpen(false); toggle.focus(); }
      else if (e.key === "Tab") { setMenuOpen(false); return; }
      else return;
      e.preventDefault();
    });
    menu.addEventListener("focusout", function (e) {
      if (!e.relatedTarget || (!menu.contains(e.relatedTarget) && e.relatedTarget !== toggle)) setMenuOpen(false);
    });
    frag.appendChild(toggle);
    frag.appendChild(menu);
    return frag;
  }

  // pick sends a tapped choice as the visitor's message.
  function pick(li, c) {
    if (li.hasAttribute("data-answered")) return;
    answer(li, true, c.id);
    submitText(c.title, c.id);
  }

  // answer disables a question's choices, or enables them again, marking
  // the one a tap picked.
  function answer(li, answered, choice) {
    if (answered === li.hasAttribute("data-answered") && li.getAttribute("data-picked") === (choice || null)) return;
    var had = answered && li.contains(activeElement()); // a button about to be disabled loses the focus
    if (answered) li.setAttribute("data-answered", "");
    else li.removeAttribute("data-answered");
    if (choice) li.setAttribute("data-picked", choice);
    else li.removeAttribute("data-picked");
    var menu = li.querySelector(".sbwc-menu");
    if (menu && answered) {
      menu.hidden = true;
      li.querySelector(".sbwc-menu-toggle").setAttribute("aria-expanded", "false");
    }
    Array.prototype.forEach.call(li.querySelectorAll(".sbwc-choices button"), function (b) {
      b.disabled = answered;
      var picked = answered && !!choice && b.getAttribute("data-choice") === choice;
      b.classList.toggle("sbwc-picked", picked);
      if (b.classList.contains("sbwc-choice")) b.setAttribute("aria-pressed", String(picked));
    });
    if (had) input.focus();
  }

  // settle makes every question's choices enabled exactly when no
  // visitor's message follows it.
  function settle() {
    var next = null; // the visitor's message nearest after n
    for (var n = log.lastElementChild; n; n = n.previousElementSibling) {
      if (n.classList.contains("sbwc-visitor")) next = n;
      else if (n.classList.contains("sbwc-asks")) answer(n, !!next, next && next.getAttribute("data-choice"));
    }
  }

  // ---- session ------------------------------------------------------------

  function session() {
    return fetch(new URL("session", base).href, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(state.token ? { token: state.token } : {}),
      cache: "no-store"
    }).then(function (r) {
      if (!r.ok) throw new Error("session: HTTP " + r.status);
      return r.json();
    }).then(function (s) {
      if (state.visitor && s.visitor !== state.visitor) clearConversation(); // the old token is no longer valid
      state.visitor = s.visitor;
      state.token = s.token;
      host.setAttribute("data-visitor", s.visitor);
      setTitle(s.title, s.greeting);
      askPrechat(Array.isArray(s.prechat) ? s.prechat : []);
      save();
    });
  }

  // ---- transport: WebSocket, with long-polling as the fallback ------------

  var started = false, ws = null, wsFailures = 0, backoff = 1000, polling = false, pollAbort = null, upgradeTimer = 0;

  function jitter(ms) { return ms / 2 + Math.random() * ms / 2; }
  function later(fn) {
    var wait = jitter(backoff);
    backoff = Math.min(backoff * 2, 30000);
    setTimeout(fn, wait);
  }

  function start() {
    if (started) return;
    started = true;
    setStatus("connecting");
    session().then(connect, function () {
      started = false;
      setStatus("offline");
      later(start);
    });
  }

  function socketURL() {
    var u = new URL("ws", base);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("token", state.token);
    u.searchParams.set("after", String(state.last));
    if (state.epoch) u.searchParams.set("epoch", state.epoch);
    return u.href;
  }

  function connect() {
    if (forcePoll || typeof WebSocket !== "function") { startPolling(); return; }
    openSocket(false);
  }

  // openSocket opens the WebSocket; as an upgrade, from polling mode, a
  // failure is quiet and polling goes on.
  function openSocket(upgrade) {
    var sock, opened = false, watchdog = 0;
    try { sock = new WebSocket(socketURL()); } catch (e) { if (!upgrade) startPolling(); return; }
    if (!upgrade) ws = sock;
    function alive() {
      clearTimeout(watchdog);
      watchdog = setTimeout(function () { sock.close(); }, 75000); // the server writes at least every 30 s
    }
    sock.onopen = function () {
      opened = true;
      wsFailures = 0;
      backoff = 1000;
      if (upgrade) { stopPolling(); ws = sock; }
      setStatus("online");
      alive();
    };
    sock.onmessage = function (ev) {
      alive();
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "hello") position(f.epoch, f.reset);
      else if (f.type === "message" && f.message) receive(f.epoch, f.message);
      else if (f.type === "typing") showTyping(f.agent);
    };
    sock.onclose = function () {
      clearTimeout(watchdog);
      if (ws !== sock) return; // an upgrade attempt that failed: polling goes on
      ws = null;
      // Two sockets in a row that never opened while the server answers:
      // something between (a proxy) blocks WebSockets. Poll instead.
      if (!opened && ++wsFailures >= 2) { startPolling(); return; }
      retrySocket();
    };
  }

  // retrySocket reconnects after a pause. The token may be stale (a
  // restarted server with a random secret): the session is renewed first.
  function retrySocket() {
    setStatus("reconnecting");
    later(function () {
      session().then(connect, function () { setStatus("offline"); retrySocket(); });
    });
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    setStatus("connecting");
    poll(true);
    if (!forcePoll && typeof WebSocket === "function") {
      upgradeTimer = setInterval(function () { if (polling && !ws) openSocket(true); }, 120000);
    }
  }
  function stopPolling() {
    polling = false;
    clearInterval(upgradeTimer);
    if (pollAbort) pollAbort.abort();
  }

  // poll asks for the messages after the last one; quick asks without
  // waiting (to catch up and know that the server answers), otherwise the
  // server holds the request until a message comes or LongPollWait ends.
  function poll(quick) {
    if (!polling) return;
    var u = new URL("messages", base);
    u.searchParams.set("after", String(state.last));
    if (state.epoch) u.searchParams.set("epoch", state.epoch);
    if (quick) u.searchParams.set("wait", "0");
    pollAbort = typeof AbortController === "function" ? new AbortController() : null;
    fetch(u.href, {
      headers: { Authorization: "Bearer " + state.token },
      cache: "no-store",
      signal: pollAbort ? pollAbort.signal : undefined
    }).then(function (r) {
      if (r.status === 401) return session().then(function () { return null; });
      if (!r.ok) throw new Error("messages: HTTP " + r.status);
      return r.json();
    }).then(function (p) {
      if (p) {
        position(p.epoch, p.reset);
        p.messages.forEach(function (m) { receive(p.epoch, m); });
        save();
      }
      backoff = 1000;
      setStatus("polling");
      poll(false);
    }, function () {
      if (!polling) return;
      setStatus("reconnecting");
      later(function () { poll(true); });
    });
  }

  // ---- sending ------------------------------------------------------------

  function randomID() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return "c_" + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  // send shows and posts a visitor's message; choice is the id of the
  // choice it picks, if it was a tap.
  function send(text, choice, media) {
    var id = randomID();
    var li = makeItem("visitor", text, (media || []).map(function (f) { return f.url; }), new Date().toISOString());
    if (media && media.length) li.setAttribute("data-media", JSON.stringify(media.map(function (f) { return f.id; })));
    if (choice) li.setAttribute("data-choice", choice);
    nodes["c:" + id] = li;
    log.appendChild(li);
    settle();
    setItemState(li, "sending");
    scrollDown(true);
    post(id, text, li, false);
  }

  function post(id, text, li, renewed) {
    setItemState(li, li.hasAttribute("data-seq") ? "sent" : "sending");
    fetch(webhookURL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + state.token },
      body: JSON.stringify(messageBody(id, text, li.getAttribute("data-choice"), JSON.parse(li.getAttribute("data-media") || "null")))
    }).then(function (r) {
      if (r.status === 401 && !renewed) return session().then(function () { post(id, text, li, true); });
      if (!r.ok) throw new Error("send: HTTP " + r.status);
      if (!li.hasAttribute("data-seq")) setItemState(li, "sent"); // the echo may come later
    }).catch(function () {
      setItemState(li, "failed", function () { post(id, text, li, false); });
    });
  }

  // messageBody is what the webhook takes: the pre-chat form's name and
  // email go with every message, so the contact has them from the first.
  function messageBody(id, text, choice, media) {
    var b = { id: id, text: text };
    if (media) b.media = media;
    if (choice) b.choice = choice;
    if (state.profile) {
      if (state.profile.name) b.name = state.profile.name;
      if (state.profile.email) b.email = state.profile.email;
    }
    return b;
  }

  var prechatWants = [];
  function askPrechat(fields) {
    prechatWants = fields.filter(function (f) { return prechatFields[f]; });
    var need = prechatWants.length > 0 && !state.profile;
    prechatWants.forEach(function (f) { prechatFields[f].row.hidden = false; });
    prechat.hidden = !need;
    form.hidden = need;
    host.setAttribute("data-prechat", need ? "open" : "done");
    if (need && open) prechatFields[prechatWants[0]].input.focus();
  }
  prechat.addEventListener("submit", function (e) {
    e.preventDefault();
    var p = {}, problem = "";
    prechatWants.forEach(function (f) {
      var v = prechatFields[f].input.value.trim();
      if (!v && !problem) { problem = "Please fill in " + (f === "name" ? "your name." : "your email."); prechatFields[f].input.focus(); }
      if (f === "email" && v && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v) && !problem) { problem = "That email address does not look right."; prechatFields[f].input.focus(); }
      p[f] = v;
    });
    prechatError.textContent = problem;
    if (problem) return;
    state.profile = p;
    save();
    prechat.hidden = true;
    form.hidden = false;
    host.setAttribute("data-prechat", "done");
    input.focus();
  });

  // upload keeps the chosen file on the server, then sends it as a
  // message of its own, named by its file name.
  fileInput.addEventListener("change", function () {
    var f = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!f) return;
    if (f.size > 5 * 1024 * 1024) { attachError("That file is larger than 5 MB."); return; }
    if (!started) start();
    var ready = state.token ? Promise.resolve() : session();
    attachBtn.disabled = true;
    ready.then(function () {
      var u = new URL("upload", base);
      u.searchParams.set("name", f.name);
      return fetch(u.href, {
        method: "POST",
        headers: { "Content-Type": f.type || "application/octet-stream", Authorization: "Bearer " + state.token },
        body: f
      });
    }).then(function (r) {
      if (!r.ok) throw new Error("upload: HTTP " + r.status);
      return r.json();
    }).then(function (up) {
      send(f.name, "", [{ id: up.id, url: up.url }]);
    }).catch(function () {
      attachError("The file could not be sent. Please try again.");
    }).then(function () { attachBtn.disabled = false; attachBtn.focus(); });
  });
  function attachError(text) {
    var li = el("li", { "class": "sbwc-msg sbwc-notice sbwc-error", role: "alert" });
    li.appendChild(el("p", { "class": "sbwc-text" }, text));
    log.appendChild(li);
    scrollDown(true);
  }

  newChatBtn.addEventListener("click", function () {
    // The old messages stay in the server's mailbox: keep the position in
    // it, so a reconnection or a reload does not bring them back.
    var epoch = state.epoch, last = state.last, epochs = state.epochs;
    clearConversation();
    state.epoch = epoch;
    state.last = last;
    state.epochs = epochs;
    save();
    input.focus();
  });

  function submit() {
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    grow();
    submitText(text, "");
  }
  function submitText(text, choice) {
    if (!started) start();
    if (!state.token) {
      session().then(function () { send(text, choice); }, function () { if (!choice) input.value = text; });
      return;
    }
    send(text, choice);
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    submit();
  });
  // Enter sends, Shift+Enter starts a new line. A virtual keyboard's Enter
  // may come without a keydown: its line break sends too.
  var shiftEnter = false;
  input.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || e.isComposing) return;
    if (e.shiftKey) {
      shiftEnter = true;
      setTimeout(function () { shiftEnter = false; }, 0);
      return;
    }
    e.preventDefault();
    submit();
  });
  input.addEventListener("beforeinput", function (e) {
    if ((e.inputType === "insertLineBreak" || e.inputType === "insertParagraph") && !shiftEnter && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }
  input.addEventListener("input", grow);

  // While an agent is in the chat, they see the visitor typing: one report
  // every three seconds at most, never stored.
  var typedAt = 0;
  input.addEventListener("input", function () {
    var now = Date.now();
    if (!state.token || !host.getAttribute("data-agent") || !input.value.trim() || now - typedAt < 3000) return;
    typedAt = now;
    fetch(webhookURL, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + state.token },
      body: JSON.stringify({ typing: true })
    }).catch(function () { /* best effort */ });
  });

  // ---- start --------------------------------------------------------------

  load();
  if (state.visitor) host.setAttribute("data-visitor", state.visitor);
  state.transcript.forEach(function (m) { show(m.epoch, m, true); });
  setStatus("connecting");
  if (mode === "page") {
    start();
    input.focus();
  } else if (state.token) {
    start(); // a returning visitor: listen for replies while the panel is closed
  }
  if (mode === "embed") {
    window.SwitchboardWebchat = {
      open: function () { setOpen(true); },
      close: function () { setOpen(false); },
      toggle: function () { setOpen(!open); }
    };
  }
})();
