// Switchboard agent desktop: a worker signs in with its worker token, sets
// its activity, takes offers from its stream and handles several
// conversations at once. Plain JavaScript, no build step; it talks to the
// agent API (/v1) of the server that serves it.
"use strict";

(() => {
  const STORAGE_KEY = "switchboard.agent.session";
  // The page is {prefix}/agent/: the API is {prefix}/v1/, also behind a
  // proxy that serves Switchboard under a path prefix.
  const API = new URL("../v1/", location.href);
  const ACTIVITIES = ["available", "break", "away", "offline"];
  const BACKOFF_MIN = 500, BACKOFF_MAX = 15000;
  // RING_WINDOW: the connector reports the agent picking up (call.answered);
  // where that report is missing (a reload, a connector without it), a call
  // not bounced within this window (the ring timeout is 20 s by default) is
  // taken as answered.
  const RING_WINDOW = 30000;

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  // ---- state ---------------------------------------------------------------

  let session = null;      // {worker, token}
  let me = null;           // the worker, as the API has it
  const offers = new Map(); // reservation id → offer
  const tasks = new Map();  // task id → assigned task (insertion order: arrival)
  const details = new Map(); // task id → GET /v1/tasks/{id}/history
  const queues = new Set(); // queue names (GET /v1/queues, and seen), for the transfer form
  const colleagues = new Map(); // worker id → {name, activity, free} (GET /v1/workers), for the transfer form
  const queueStats = new Map(); // queue → {available, waiting} (GET /v1/queues)
  let selected = "";
  let showList = false;     // a narrow window shows the list instead of the conversation
  const waiting = { tasks: [], total: 0, at: 0 }; // GET /v1/workers/{id}/waiting
  let recent = [];           // GET /v1/workers/{id}/conversations
  let canned = [];           // GET /v1/canned-responses
  const notes = new Map();   // task id → its notes (GET /v1/tasks/{id}/notes)
  const contacts = new Map(); // contact id → GET /v1/contacts/{id}/history
  let contactShown = "";     // the contact the side panel shows
  const replyState = new Map(); // stored message id → sent | delivered | read
  const typingUntil = new Map(); // task id → until when its customer is shown typing
  let lastTypingSent = 0, tickTimer = 0, waitingTimer = 0;
  const SETTINGS_KEY = "switchboard.agent.settings";
  let settings = { sound: true, notify: false };
  let lastSeq = "";        // the last stream event seen, to resume after
  let socket = null, socketGen = 0, backoff = 0, retryTimer = 0, noticeTimer = 0, callTimer = 0;

  // ---- DOM helpers ---------------------------------------------------------

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k.startsWith("data") || k.startsWith("aria") || k === "role" || k === "type" || k === "title" || k === "datetime") e.setAttribute(k === "dataTestid" ? "data-testid" : k, v === true ? "" : v);
      else e[k] = v;
    }
    for (const c of children.flat()) {
      if (c !== undefined && c !== null && c !== false) e.append(c);
    }
    return e;
  }

  function clock(at) {
    const d = new Date(at);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // showError shows what failed and the API's reason; connection errors
  // go away by themselves once the stream is back.
  function showError(what, err, connection) {
    const msg = err === undefined ? what : what + ": " + (err && err.message ? err.message : String(err));
    $("error-text").textContent = msg;
    $("error").hidden = false;
    $("error").dataset.connection = connection ? "true" : "";
  }

  function clearError(connectionOnly) {
    if (connectionOnly && !$("error").dataset.connection) return;
    $("error").hidden = true;
    $("error-text").textContent = "";
  }

  function notice(text) {
    $("notice").textContent = text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { $("notice").textContent = ""; }, 8000);
  }

  // ---- the API -------------------------------------------------------------

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // call sends a request with the worker's token; a failure throws an
  // APIError with the API's reason ({"error": "..."}).
  async function call(method, path, body) {
    if (!session) throw new APIError(401, "not signed in");
    const opts = { method, headers: { Authorization: "Bearer " + session.token }, cache: "no-store" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(new URL(path, API), opts);
    } catch (e) {
      throw new APIError(0, "the server cannot be reached (" + e.message + ")");
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!resp.ok) {
      const reason = data && typeof data.error === "string" && data.error ? data.error : "HTTP " + resp.status + " " + resp.statusText;
      const err = new APIError(resp.status, reason);
      if (resp.status === 401 && session) {
        signOut("Your token was refused (" + reason + "). Sign in again.");
      }
      throw err;
    }
    return data;
  }

  // ---- session -------------------------------------------------------------

  async function signIn(worker, token) {
    clearError();
    session = { worker, token };
    try {
      me = await call("GET", "workers/" + enc(worker));
    } catch (e) {
      if (e.status !== 0) {
        session = null;
        try { localStorage.removeItem(STORAGE_KEY); } catch (e2) { /* nothing stored */ }
        showSignIn();
        if (e.status !== 401) showError("Sign-in failed", e);
        else showError("Sign-in failed: " + e.message);
        return;
      }
      // The server is unreachable: keep the session and let the stream retry.
      showError("Not connected", e, true);
      me = { id: worker, activity: "" };
    }
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    } catch (e) { /* private mode: the session lasts until the page closes */ }
    showDesk();
    connect();
  }

  function signOut(reason) {
    socketGen++;
    clearTimeout(retryTimer);
    if (socket) socket.close();
    socket = null;
    session = null;
    me = null;
    offers.clear();
    tasks.clear();
    notes.clear();
    contacts.clear();
    contactShown = "";
    waiting.tasks = [];
    recent = [];
    clearInterval(waitingTimer);
    waitingTimer = 0;
    tickCalls();
    details.clear();
    selected = "";
    lastSeq = "";
    backoff = 0;
    try { localStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
    $("reply-text").value = "";
    showSignIn();
    if (reason) showError(reason);
    else clearError();
  }

  function showSignIn() {
    $("desk").hidden = true;
    $("me").hidden = true;
    $("signin").hidden = false;
    setConnection("offline");
    document.title = "Agent desktop · Switchboard";
    $("signin-submit").disabled = false;
    if (!$("signin-worker").value) $("signin-worker").focus();
    else $("signin-token").focus();
  }

  function showDesk() {
    $("signin").hidden = true;
    $("signin-token").value = "";
    $("desk").hidden = false;
    $("me").hidden = false;
    render();
  }

  // ---- the stream ----------------------------------------------------------

  function setConnection(state, text) {
    const c = $("conn");
    c.dataset.state = state;
    c.textContent = text || { online: "Online", connecting: "Connecting…", offline: "Offline" }[state] || state;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (!session) return;
    const gen = ++socketGen;
    if (socket) socket.close();
    const u = new URL("workers/" + enc(session.worker) + "/stream", API);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    u.searchParams.set("access_token", session.token);
    if (lastSeq) u.searchParams.set("after", lastSeq);
    setConnection("connecting");
    let ws;
    try {
      ws = new WebSocket(u.href);
    } catch (e) {
      showError("The event stream cannot open", e, true);
      return;
    }
    socket = ws;
    let greeted = false;
    ws.onmessage = (msg) => {
      if (gen !== socketGen) return;
      let frame;
      try { frame = JSON.parse(msg.data); } catch (e) { return; }
      if (frame.type === "hello") {
        greeted = true;
        backoff = 0;
        setConnection("online");
        clearError(true);
        onHello(frame);
      } else if (frame.type === "event" && frame.event) {
        onEvent(frame.event);
      } else if (frame.type === "typing" && frame.task_id) {
        typingUntil.set(frame.task_id, Date.now() + 6000);
        renderTyping();
        setTimeout(renderTyping, 6100);
        return;
      }
      render();
    };
    ws.onclose = () => {
      if (gen !== socketGen) return;
      socket = null;
      setConnection("offline");
      if (greeted) retry();
      else refused();
    };
  }

  // refused finds out why the stream closed before its hello: browsers do
  // not show a WebSocket's HTTP status, the API does.
  async function refused() {
    const gen = socketGen;
    try {
      await call("GET", "workers/" + enc(session.worker));
    } catch (e) {
      if (gen !== socketGen || !session) return; // signed out meanwhile
      if (e.status === 403 || e.status === 404) {
        signOut("The event stream was refused: " + e.message);
        return;
      }
    }
    if (gen === socketGen && session) retry();
  }

  function retry() {
    backoff = Math.min(BACKOFF_MAX, Math.max(BACKOFF_MIN, backoff * 2));
    const wait = Math.round(backoff * (0.75 + Math.random() * 0.5));
    setConnection("offline", "Reconnecting in " + Math.max(1, Math.round(wait / 1000)) + " s…");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, wait);
  }

  // onHello takes the worker and its open reservations as they are now;
  // events replayed after it (resuming) bring the state up to date again.
  // renderTargets offers the transfer form's suggestions: the queues, or
  // the colleagues (with whether they are there) when transferring to a worker.
  function renderTargets() {
    const dl = $("transfer-queues");
    const options = $("transfer-kind").value === "worker"
      ? [...colleagues].filter(([id]) => !me || id !== me.id).sort(([a], [b]) => a.localeCompare(b))
        .map(([id, w]) => el("option", { value: id, label: (w.name || id) + " — " + w.activity }))
      : [...queues].sort().map((q) => el("option", { value: q }));
    dl.replaceChildren(...options);
    renderPicker();
  }

  // loadTargets asks who and where a conversation can be transferred to.
  async function loadTargets() {
    try {
      const q = await call("GET", "queues");
      for (const x of (q && q.queues) || []) {
        queues.add(x.name);
        if (x.available !== undefined) queueStats.set(x.name, { available: x.available, waiting: x.waiting });
      }
      const w = await call("GET", "workers");
      colleagues.clear();
      for (const x of (w && w.workers) || []) colleagues.set(x.id, { name: x.name, activity: x.activity, free: x.free });
    } catch (e) {
      return; // suggestions only: the form still takes any name
    }
    renderTargets();
  }

  function onHello(hello) {
    loadTargets();
    loadWaiting();
    loadRecent();
    loadCanned();
    if (hello.worker) me = hello.worker;
    if (hello.after) lastSeq = String(hello.after);
    const open = new Set();
    for (const r of hello.reservations || []) {
      open.add(r.id);
      const info = r.task ? { queue: r.task.queue, workflow: r.task.workflow, channel: r.task.channel } : {};
      if (r.status === "pending") {
        if (!offers.has(r.id)) {
          offers.set(r.id, Object.assign({ id: r.id, task: r.task_id, at: r.created_at }, info));
          loadExpiry(r.id, r.task_id);
        }
        loadDetails(r.task_id);
      } else {
        // An accepted reservation last changed when it was accepted: the
        // call began then. A wrapping call's end is not known.
        info.acceptedAt = r.status === "accepted" ? Date.parse(r.updated_at) : NaN;
        ensureTask(r.task_id, r.id, r.status === "wrapping" ? "wrapping" : "assigned", info);
      }
    }
    for (const [id, o] of [...offers]) if (!open.has(id) && !o.missed) offers.delete(id);
    for (const [id, t] of [...tasks]) if (!open.has(t.res)) dropTask(id);
    if (!selected && tasks.size) selected = tasks.keys().next().value;
    if (selected) refreshHistory(selected);
    tickCalls();
  }

  function onEvent(e) {
    if (e.seq) lastSeq = String(e.seq);
    const d = e.data || {};
    if (e.queue) queues.add(e.queue);
    switch (e.type) {
      case "reservation.created": {
        if (e.worker_id && session && e.worker_id !== session.worker) break;
        if (!offers.has(e.reservation_id)) {
          offers.set(e.reservation_id, { id: e.reservation_id, task: e.task_id, queue: e.queue, workflow: d.workflow, channel: d.channel,
            priority: d.priority, at: e.time, expiresAt: d.expires_at ? Date.parse(d.expires_at) : NaN });
          notice((d.channel === "voice" ? "Incoming call" : "New offer") + (e.queue ? " from queue " + e.queue : "") + ".");
          alertOffer(e.reservation_id);
        }
        loadWaiting();
        loadDetails(e.task_id);
        break;
      }
      case "reservation.accepted":
        acceptedLocally(e.reservation_id, e.task_id, { queue: e.queue, workflow: d.workflow, channel: d.channel, acceptedAt: Date.parse(e.time) });
        break;
      case "reservation.rejected":
        offers.delete(e.reservation_id);
        // An accepted call whose agent's phone did not take it goes on to
        // the next agent.
        if (tasks.has(e.task_id) && tasks.get(e.task_id).res === e.reservation_id) {
          notice(bounceNotice(d.reason));
          dropTask(e.task_id);
        }
        break;
      case "reservation.rescinded":
        offers.delete(e.reservation_id);
        break;
      case "reservation.timeout":
        missed(e.reservation_id);
        break;
      case "reservation.canceled":
        if (offers.delete(e.reservation_id)) notice("An offer was withdrawn.");
        if (tasks.has(e.task_id) && tasks.get(e.task_id).res === e.reservation_id) {
          notice("A conversation was canceled (" + taskLabel(e.task_id) + ").");
          dropTask(e.task_id);
        }
        break;
      case "reservation.transferred":
        if (tasks.has(e.task_id) && tasks.get(e.task_id).res === e.reservation_id) {
          notice("Transferred: " + taskLabel(e.task_id) + " is no longer yours.");
          dropTask(e.task_id);
        }
        break;
      case "reservation.completed":
        if (tasks.has(e.task_id) && tasks.get(e.task_id).res === e.reservation_id) dropTask(e.task_id);
        break;
      case "task.wrapping":
        if (tasks.has(e.task_id)) callEnded(tasks.get(e.task_id), Date.parse(e.time));
        break;
      case "call.answered":
        // The agent's phone picked up: the call's time starts now.
        if (tasks.has(e.task_id)) {
          tasks.get(e.task_id).answeredAt = Date.parse(e.time);
          renderTasks();
          renderCall(tasks.get(selected));
        }
        break;
      case "agent.reply.delivered":
        // The platform took it: the conversation's history now holds it.
        if (d.message_id && !replyState.has(d.message_id)) replyState.set(d.message_id, "sent");
        if (e.task_id === selected) refreshHistory(selected);
        break;
      case "agent.reply.status":
        // The customer's device has it (delivered), or they saw it (read).
        if (d.message_id && !(d.status === "delivered" && replyState.get(d.message_id) === "read")) replyState.set(d.message_id, d.status);
        break;
      case "task.disposition":
        if (tasks.has(e.task_id)) loadNotes(e.task_id);
        break;
      case "agent.reply.failed":
        replyFailed(e.task_id, d);
        showError("A reply to " + taskLabel(e.task_id) + " could not be delivered" + (d.error ? ": " + d.error : "") + ".");
        break;
      case "task.completed":
      case "task.canceled":
        for (const [id, o] of [...offers]) if (o.task === e.task_id && !o.missed) offers.delete(id);
        dropTask(e.task_id);
        loadRecent();
        break;
      case "task.transferred":
        if (tasks.has(e.task_id)) {
          const to = d.to_worker ? "worker " + d.to_worker : "queue " + e.queue;
          notice(d.reason === "warm"
            ? "Warm transfer to " + to + " requested: the conversation stays yours until it is accepted."
            : "Transferred to " + to + ".");
        }
        break;
      case "task.transfer_failed":
        if (tasks.has(e.task_id)) notice("The transfer of " + taskLabel(e.task_id) + " failed" + (d.reason ? ": " + d.reason : "") + "; it stays yours.");
        break;
      case "worker.activity":
        if (me) me.activity = d.activity || me.activity;
        if (d.reason === "missed_reservations") notice("You were set to " + d.activity + " after missing several offers.");
        break;
      case "worker.capacity":
        if (me && d.capacity) me.capacity = d.capacity;
        break;
      case "worker.removed":
        signOut("This worker was removed by an administrator.");
        break;
      case "conversation.message":
        addIncoming(e.task_id, { id: d.message_id, conv: d.conversation_id, text: d.text || "", at: e.time, media: d.media });
        typingUntil.delete(e.task_id);
        // The stored message has what the event leaves out (its files).
        if (e.task_id === selected) refreshHistory(e.task_id);
        break;
    }
  }

  // ---- tasks and offers ----------------------------------------------------

  function ensureTask(id, res, status, info) {
    let t = tasks.get(id);
    if (!t) {
      t = { id, res, status, queue: info.queue, workflow: info.workflow, channel: info.channel,
        live: [], local: [], unread: 0, draft: "", busy: false,
        failed: new Map(), // stored message id → why the platform did not deliver it
        acceptedAt: info.acceptedAt, answeredAt: NaN, endedAt: NaN, hangingUp: false };
      tasks.set(id, t);
      loadDetails(id);
    } else {
      t.res = res || t.res;
      if (status === "wrapping" || t.status !== "wrapping") t.status = status;
    }
    if (info.queue) t.queue = info.queue;
    if (info.workflow) t.workflow = info.workflow;
    if (info.channel) t.channel = info.channel;
    if (info.acceptedAt >= 0 && !(t.acceptedAt >= 0)) t.acceptedAt = info.acceptedAt;
    return t;
  }

  function acceptedLocally(resID, taskID, info) {
    const o = offers.get(resID);
    offers.delete(resID);
    const t = ensureTask(taskID, resID, "assigned", {
      queue: info.queue || (o && o.queue), workflow: info.workflow || (o && o.workflow), channel: info.channel || (o && o.channel),
      acceptedAt: info.acceptedAt >= 0 ? info.acceptedAt : Date.now() });
    // A call needs the agent now: it is shown, whatever else was open.
    if (!selected || (info.here && isVoice(t.id))) select(t.id);
    tickCalls();
    return t;
  }

  // callEnded: the call of a task is over (task.wrapping); so is a chat.
  function callEnded(t, at) {
    t.status = "wrapping";
    t.hangingUp = false;
    if (!(t.endedAt >= 0)) t.endedAt = at >= 0 ? at : Date.now();
  }

  function bounceNotice(reason) {
    switch (reason) {
      case "no_answer": return "You did not answer the call: it went to the next agent.";
      case "no_contact_uri": return "Your phone could not be rung (you have no contact_uri): the call went to the next agent.";
      case "busy": return "Your phone was busy: the call went to the next agent.";
      default: return "Your phone could not take the call" + (reason ? " (" + reason + ")" : "") + ": it went to the next agent.";
    }
  }

  // replyFailed marks a reply the platform did not deliver: one still
  // queued here (reply_id, from the outbox) or one the history holds
  // (message_id, reported by the platform after it took it).
  function replyFailed(taskID, d) {
    const t = tasks.get(taskID);
    if (!t) return;
    const why = d.error || "not delivered";
    const local = t.local.find((r) => (d.reply_id && r.id === d.reply_id));
    if (local) {
      local.state = "failed";
      local.error = why;
    }
    if (d.message_id) {
      t.failed.set(d.message_id, why);
      if (!historyIDs(taskID).has(d.message_id)) refreshHistory(taskID);
    }
  }

  function dropTask(id) {
    if (!tasks.has(id)) return;
    tasks.delete(id);
    details.delete(id);
    notes.delete(id);
    typingUntil.delete(id);
    if (selected === id) {
      selected = "";
      $("reply-text").value = "";
      const next = tasks.keys().next();
      if (!next.done) select(next.value);
    }
    tickCalls();
  }

  function addIncoming(taskID, m) {
    const t = tasks.get(taskID);
    if (!t) return;
    if (m.id && (t.live.some((x) => x.id === m.id) || historyIDs(taskID).has(m.id))) return;
    t.live.push(m);
    if (taskID !== selected || document.hidden) t.unread++;
  }

  function historyIDs(taskID) {
    const ids = new Set();
    const h = details.get(taskID);
    for (const c of (h && h.conversations) || []) for (const m of c.messages || []) ids.add(m.id);
    return ids;
  }

  const loading = new Set(); // history requests in flight
  const again = new Set();   // … and asked for again meanwhile

  // loadDetails fetches a task's contact and history once.
  function loadDetails(taskID) {
    if (details.has(taskID) || loading.has(taskID)) return;
    refreshHistory(taskID);
  }

  async function refreshHistory(taskID) {
    if (loading.has(taskID)) {
      again.add(taskID);
      return;
    }
    loading.add(taskID);
    try {
      const h = await call("GET", "tasks/" + enc(taskID) + "/history");
      if (!tasks.has(taskID) && ![...offers.values()].some((o) => o.task === taskID)) return;
      details.set(taskID, h);
      if (h.task && h.task.queue) queues.add(h.task.queue);
      if (taskID === selected && h.contact && !contacts.has(h.contact.id)) loadContact(h.contact.id);
      reconcile(taskID);
    } catch (e) {
      if (e.status !== 401 && (tasks.has(taskID) || [...offers.values()].some((o) => o.task === taskID))) {
        showError("Loading the conversation history failed", e);
      }
    } finally {
      loading.delete(taskID);
      render();
    }
    if (again.delete(taskID)) refreshHistory(taskID);
  }

  // reconcile drops the live messages and sent replies the history now holds.
  function reconcile(taskID) {
    const t = tasks.get(taskID);
    const h = details.get(taskID);
    if (!t || !h) return;
    const ids = historyIDs(taskID);
    t.live = t.live.filter((m) => !ids.has(m.id));
    const since = h.task ? Date.parse(h.task.created_at) : 0;
    const outbound = [];
    for (const c of h.conversations || []) {
      for (const m of c.messages || []) {
        if (m.direction === "out" && !(Date.parse(m.created_at) < since)) outbound.push(m.text);
      }
    }
    // Each stored reply stands for one reply sent from here, oldest first.
    t.local = t.local.filter((r) => {
      if (r.state === "failed") return true;
      const i = outbound.indexOf(r.text);
      if (i < 0) return true;
      outbound.splice(i, 1);
      return false;
    });
  }

  function select(id) {
    if (selected && tasks.has(selected)) tasks.get(selected).draft = $("reply-text").value;
    selected = id;
    showList = false;
    const t = tasks.get(id);
    if (t) {
      t.unread = 0;
      $("reply-text").value = t.draft || "";
      refreshHistory(id);
      loadNotes(id);
      const h = details.get(id);
      if (h && h.contact) loadContact(h.contact.id);
    }
    closeCanned();
    render();
  }

  function contactName(taskID) {
    const h = details.get(taskID);
    const c = h && h.contact;
    if (!c) return "";
    if (c.name) return c.name;
    const a = (c.addresses || [])[0];
    return a ? a.address : "";
  }

  function taskLabel(taskID) {
    return contactName(taskID) || "task " + taskID;
  }

  // conversationChannel is the channel of the task's conversation
  // ("whatsapp", "webchat", …), else the task's routing channel ("chat").
  function conversationChannel(taskID, fallback) {
    const h = details.get(taskID);
    if (h && h.task) {
      const c = (h.conversations || []).find((x) => x.id === h.task.conversation_id);
      if (c) {
        const name = c.channel + (c.instance && c.instance !== "default" ? "/" + c.instance : "");
        return fallback && fallback !== c.channel ? name + " (" + fallback + ")" : name;
      }
    }
    return fallback || "";
  }

  // isVoice: the task is a phone call (its routing channel is voice).
  function isVoice(taskID) {
    const t = tasks.get(taskID);
    if (t && t.channel) return t.channel === "voice";
    for (const o of offers.values()) if (o.task === taskID && o.channel) return o.channel === "voice";
    const h = details.get(taskID);
    return !!(h && h.task && h.task.channel === "voice");
  }

  // taskAttributes are the attributes the flow gave the task.
  function taskAttributes(taskID) {
    const h = details.get(taskID);
    const a = h && h.task && h.task.attributes;
    return a && typeof a === "object" && !Array.isArray(a) ? a : {};
  }

  // callerOf is the caller's number: the task's caller attribute (flows
  // set it from message.from), else the contact's voice address.
  function callerOf(taskID) {
    const a = taskAttributes(taskID);
    if (typeof a.caller === "string" && a.caller) return a.caller;
    const h = details.get(taskID);
    const addr = ((h && h.contact && h.contact.addresses) || []).find((x) => x.channel === "voice");
    return addr ? addr.address : "";
  }

  // attributeFacts are dt/dd pairs of the task's attributes but the caller.
  function attributeFacts(taskID) {
    const out = [];
    for (const [k, v] of Object.entries(taskAttributes(taskID))) {
      if (k === "caller" || v === null || v === "") continue;
      const text = typeof v === "object" ? JSON.stringify(v) : String(v);
      out.push(el("dt", { text: k.replace(/_/g, " ") }), el("dd", { "data-attribute": k, text }));
    }
    return out;
  }

  function duration(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const two = (n) => String(n).padStart(2, "0");
    const hms = s >= 3600 ? [Math.floor(s / 3600), two(Math.floor(s / 60) % 60), two(s % 60)] : [two(Math.floor(s / 60)), two(s % 60)];
    return hms.join(":");
  }

  // callPhase is where a voice task's call is: ringing the agent's phone,
  // connected, hanging up or ended.
  function callPhase(t) {
    if (t.status === "wrapping") return "ended";
    if (t.hangingUp) return "hangingup";
    if (t.answeredAt >= 0) return "connected";
    return Date.now() - t.acceptedAt < RING_WINDOW ? "ringing" : "connected";
  }

  // callTime is the call's duration so far (or in all, once ended); "" when unknown.
  function callTime(t) {
    const from = t.answeredAt >= 0 ? t.answeredAt : t.acceptedAt;
    if (!(from >= 0)) return "";
    const end = t.status === "wrapping" ? t.endedAt : Date.now();
    return end >= 0 ? duration(end - from) : "";
  }

  // tickCalls keeps the call timers running while a call is live.
  function tickCalls() {
    const live = [...tasks.values()].some((t) => t.status !== "wrapping" && isVoice(t.id));
    if (live && !callTimer) {
      callTimer = setInterval(() => { renderTasks(); renderCall(tasks.get(selected)); tickCalls(); }, 1000);
    } else if (!live && callTimer) {
      clearInterval(callTimer);
      callTimer = 0;
    }
  }

  const SVG = "http://www.w3.org/2000/svg";
  function phoneIcon() {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25c1.1.37 2.3.57 3.6.57a1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1z");
    svg.append(path);
    return svg;
  }


  // ---- actions -------------------------------------------------------------

  async function setActivity(activity) {
    const before = me ? me.activity : "";
    if (me) me.activity = activity; // at once; put back if refused
    try {
      await call("PUT", "workers/" + enc(session.worker) + "/activity", { activity });
      clearError();
    } catch (e) {
      if (me) me.activity = before;
      if (e.status !== 401) showError("Changing the activity failed", e);
    }
    render();
  }

  async function answerOffer(resID, verb) {
    const o = offers.get(resID);
    if (!o || o.busy) return;
    o.busy = true;
    render();
    try {
      await call("POST", "reservations/" + enc(resID) + "/" + verb);
      clearError();
      if (verb === "accept") {
        const t = acceptedLocally(resID, o.task, { here: true });
        render();
        // The offer's buttons are gone: the call's own control takes the focus.
        if (isVoice(t.id) && selected === t.id) $("hangup").focus();
        return;
      }
      offers.delete(resID);
    } catch (e) {
      o.busy = false;
      if (e.status === 404) offers.delete(resID); // withdrawn meanwhile
      if (e.status !== 401) showError(verb === "accept" ? "Accepting the offer failed" : "Rejecting the offer failed", e);
    }
    render();
  }

  // hangUp ends the call of the task shown; the call's end (task.wrapping)
  // then brings the wrap-up controls.
  async function hangUp() {
    const t = tasks.get(selected);
    if (!t || t.hangingUp || t.status === "wrapping") return;
    t.hangingUp = true;
    render();
    try {
      await call("POST", "tasks/" + enc(t.id) + "/hangup");
      clearError();
    } catch (e) {
      t.hangingUp = false;
      if (e.status !== 401) showError("Hanging up failed", e);
    }
    render();
  }

  async function sendReply() {
    const t = tasks.get(selected);
    const box = $("reply-text");
    const text = box.value.trim();
    if (!t) return;
    if (!text) {
      showError($("note-mode").checked ? "Type the note first." : "Type a reply first.");
      return;
    }
    if ($("note-mode").checked) {
      addNote(t, text);
      return;
    }
    const r = { id: "", text, at: new Date().toISOString(), state: "sending" };
    t.local.push(r);
    box.value = "";
    t.draft = "";
    render();
    try {
      const res = await call("POST", "tasks/" + enc(t.id) + "/messages", { text });
      r.id = res && res.id;
      r.state = "queued";
      clearError();
      // The outbox delivers it in the background; once sent, the history
      // holds it (and it no longer shows as queued).
      for (const wait of [800, 3000, 10000]) {
        setTimeout(() => { if (tasks.get(t.id) === t && t.local.includes(r)) refreshHistory(t.id); }, wait);
      }
    } catch (e) {
      r.state = "failed";
      r.error = e.message;
      if (!box.value && selected === t.id) box.value = text;
      if (e.status !== 401) showError("Sending the reply failed", e);
    }
    render();
  }

  async function taskAction(verb, body, done) {
    const t = tasks.get(selected);
    if (!t || t.busy) return;
    t.busy = true;
    render();
    const what = { wrapup: "Wrapping up", complete: "Completing the conversation", transfer: "Transferring" }[verb];
    try {
      await call("POST", "tasks/" + enc(t.id) + "/" + verb, body);
      clearError();
      if (verb === "wrapup") callEnded(t, Date.now());
      if (verb === "complete") dropTask(t.id);
      if (done) done();
    } catch (e) {
      if (e.status !== 401) showError(what + " failed", e);
    } finally {
      t.busy = false;
    }
    render();
  }

  function transfer() {
    const target = $("transfer-target").value.trim();
    const kind = $("transfer-kind").value;
    if (!target) {
      showError("Transfer: name the " + kind + " to transfer to.");
      $("transfer-target").focus();
      return;
    }
    const body = { mode: $("transfer-mode").value };
    body[kind] = target;
    taskAction("transfer", body, () => {
      $("transfer-target").value = "";
      togglePanel("transfer", false);
      notice("Transfer to " + kind + " " + target + " requested.");
    });
  }

  // ---- rendering -----------------------------------------------------------

  function render() {
    tickCalls();
    if (!session) return;
    renderMe();
    renderOffers();
    renderTasks();
    renderConversation();
    renderWaiting();
    renderRecent();
    renderContact();
    $("desk").dataset.view = selected && tasks.has(selected) && !showList ? "conversation" : "list";
    $("back").textContent = "‹ List" + (offers.size ? " (" + [...offers.values()].filter((o) => !o.missed).length + " offers)" : "");
    tick();
    const n = [...offers.values()].filter((o) => !o.missed).length;
    document.title = (n ? "(" + n + ") " : "") + "Agent desktop · Switchboard";
  }

  function renderMe() {
    const name = me && me.name ? me.name + " (" + session.worker + ")" : session.worker;
    const chats = [...tasks.keys()].filter((id) => !isVoice(id)).length;
    const cap = me && me.capacity && me.capacity.chat !== undefined ? " · chat " + chats + "/" + me.capacity.chat : "";
    $("who").textContent = name + cap;
    const sel = $("activity");
    const act = (me && me.activity) || "";
    for (const o of [...sel.options]) if (!ACTIVITIES.includes(o.value) && o.value !== act) o.remove();
    if (act && ![...sel.options].some((o) => o.value === act)) sel.append(el("option", { value: act, text: act }));
    sel.value = act;
    sel.dataset.activity = act;
  }

  // keyed keeps one element per key, so the focus stays on a button while
  // other items come and go.
  function keyed(list, items, key, make, update) {
    const have = new Map();
    for (const li of [...list.children]) have.set(li.dataset.key, li);
    const want = new Set(items.map(key));
    for (const [k, li] of have) if (!want.has(k)) li.remove();
    for (const item of items) {
      let li = have.get(key(item));
      if (!li) {
        li = make(item);
        li.dataset.key = key(item);
        list.append(li);
      }
      update(li, item);
    }
  }

  function renderOffers() {
    const items = [...offers.values()];
    const live = items.filter((o) => !o.missed).length;
    $("offers-count").textContent = String(live);
    $("offers-empty").hidden = items.length > 0;
    keyed($("offers"), items, (o) => o.id, (o) => {
      const li = el("li", { class: "offer", dataTestid: "offer", "data-reservation": o.id, "data-task": o.task },
        el("div", { class: "offer-head" },
          el("h3", { class: "offer-title" }, el("span", { class: "offer-icon" }, phoneIcon()), el("span", { class: "offer-text", dataTestid: "offer-who" })),
          el("span", { class: "chan", dataTestid: "offer-channel" }),
          el("span", { class: "tag vip", dataTestid: "vip", text: "VIP" })),
        el("p", { class: "caller" }, el("span", { class: "caller-label", text: "Caller" }), " ",
          el("strong", { class: "caller-number", dataTestid: "caller" })),
        el("p", { class: "asked", dataTestid: "asked" }, el("span", { class: "asked-label", text: "Asked" }), el("span", { class: "asked-text" })),
        el("dl", { class: "facts", dataTestid: "offer-facts" }),
        el("p", { class: "timing" },
          el("span", { class: "waited", dataTestid: "offer-wait" }),
          el("span", { class: "countdown", dataTestid: "countdown", role: "timer" })),
        el("p", { class: "missed-text", dataTestid: "missed", text: "Missed: the offer expired and went to someone else." }),
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "primary", dataTestid: "accept", text: "Accept", onclick: () => answerOffer(o.id, "accept") }),
          el("button", { type: "button", dataTestid: "reject", text: "Reject", onclick: () => answerOffer(o.id, "reject") }),
          el("button", { type: "button", dataTestid: "dismiss", text: "Dismiss", onclick: () => { offers.delete(o.id); render(); } })));
      li.setAttribute("aria-label", "Offer");
      return li;
    }, (li, o) => {
      const h = details.get(o.task);
      const t = (h && h.task) || {};
      const voice = isVoice(o.task);
      const who = voice ? callerOf(o.task) : contactName(o.task);
      const title = voice ? "Incoming call" : who || "New request";
      const channel = channelOf(o.task, o.channel);
      li.classList.toggle("voice", voice);
      li.classList.toggle("missed", !!o.missed);
      li.dataset.testid = o.missed ? "offer-missed" : "offer";
      li.dataset.channel = voice ? "voice" : channel;
      li.querySelector(".offer-icon").hidden = !voice;
      li.querySelector(".offer-text").textContent = title;
      const badge = li.querySelector(".chan");
      badge.textContent = channelLabel(channel);
      badge.dataset.channel = channel;
      badge.hidden = !channel;
      const vip = taskAttributes(o.task).vip;
      li.querySelector(".vip").hidden = !(vip === true || vip === "true" || vip === 1);
      li.querySelector(".caller").hidden = !voice || !who;
      li.querySelector(".caller-number").textContent = who;
      const facts = [
        el("dt", { text: "Queue" }), el("dd", { "data-field": "queue", text: o.queue || t.queue || "—" }),
        el("dt", { text: "Workflow" }), el("dd", { "data-field": "workflow", text: o.workflow || t.workflow || "—" }),
        el("dt", { text: "Channel" }), el("dd", { "data-field": "channel", text: conversationChannel(o.task, o.channel) || "—" }),
        ...attributeFacts(o.task),
      ];
      li.querySelector(".facts").replaceChildren(...facts);
      const asked = voice ? "" : askedBefore(o.task);
      li.querySelector(".asked-text").textContent = asked;
      li.querySelector(".asked").hidden = !asked;
      renderOfferClock(li, o);
      li.querySelector(".missed-text").hidden = !o.missed;
      li.querySelector('[data-testid="accept"]').hidden = !!o.missed;
      li.querySelector('[data-testid="reject"]').hidden = !!o.missed;
      li.querySelector('[data-testid="dismiss"]').hidden = !o.missed;
      for (const b of li.querySelectorAll("button")) b.disabled = !!o.busy;
      li.querySelector('[data-testid="accept"]').setAttribute("aria-label", (voice ? "Accept the call" : "Accept the request") + (who ? " from " + who : ""));
      li.querySelector('[data-testid="reject"]').setAttribute("aria-label", (voice ? "Reject the call" : "Reject the request") + (who ? " from " + who : ""));
      li.querySelector('[data-testid="dismiss"]').setAttribute("aria-label", "Dismiss the missed offer" + (who ? " from " + who : ""));
      li.setAttribute("aria-label", (o.missed ? "Missed offer: " : "") + (voice && who ? title + " from " + who : title));
    });
  }

  // renderOfferClock shows how long the customer has waited and how long
  // the offer still holds; an offer whose time is up is missed.
  function renderOfferClock(li, o) {
    const created = taskCreated(o.task) || Date.parse(o.at);
    li.querySelector(".waited").textContent = created >= 0 ? "Waiting " + duration(Date.now() - created) : "";
    const cd = li.querySelector(".countdown");
    if (o.missed || !(o.expiresAt >= 0)) {
      cd.textContent = "";
      return;
    }
    const left = o.expiresAt - Date.now();
    cd.textContent = left > 0 ? duration(left) + " left to answer" : "expiring…";
    cd.dataset.urgent = left < 10000 ? "true" : "false";
    cd.setAttribute("aria-label", Math.max(0, Math.ceil(left / 1000)) + " seconds left to answer");
  }

  function renderTasks() {
    const items = [...tasks.values()];
    $("tasks-count").textContent = String(items.length);
    $("tasks-empty").hidden = items.length > 0;
    keyed($("tasks"), items, (t) => t.id, (t) => el("li", {},
      el("button", { type: "button", class: "task", dataTestid: "task", "data-task": t.id, onclick: () => select(t.id) },
        el("span", { class: "task-name" }, el("span", { class: "task-icon" }, phoneIcon()), el("span", { class: "task-who" })),
        el("span", { class: "task-meta" }),
        el("span", { class: "badge", dataTestid: "unread" }))),
    (li, t) => {
      const b = li.firstChild;
      const voice = isVoice(t.id);
      const name = (voice && callerOf(t.id)) || contactName(t.id) || "Task " + t.id.slice(-6);
      b.querySelector(".task-icon").hidden = !voice;
      b.querySelector(".task-who").textContent = name;
      const state = voice ? callState(t) : t.status === "wrapping" ? "wrapping up" : "";
      b.querySelector(".task-meta").textContent = [t.queue, state].filter(Boolean).join(" · ");
      const badge = b.querySelector(".badge");
      badge.textContent = t.unread ? String(t.unread) : "";
      badge.hidden = !t.unread;
      badge.setAttribute("aria-label", t.unread + " unread");
      b.dataset.status = t.status;
      b.dataset.channel = voice ? "voice" : "";
      b.setAttribute("aria-current", t.id === selected ? "true" : "false");
      // The label leaves the running time out: a focused button is not re-read every second.
      const said = voice ? { ringing: "ringing", connected: "on the call", hangingup: "hanging up", ended: "call ended, wrapping up" }[callPhase(t)] : state;
      const label = (voice ? "Call with " : "") + name + (t.unread ? ", " + t.unread + " unread" : "") + (said ? ", " + said : "");
      if (b.getAttribute("aria-label") !== label) b.setAttribute("aria-label", label);
    });
  }

  // callState is a call's line in the conversation list.
  function callState(t) {
    const time = callTime(t);
    switch (callPhase(t)) {
      case "ringing": return "ringing";
      case "ended": return "call ended" + (time ? " " + time : "") + ", wrapping up";
      case "hangingup": return "hanging up";
      default: return "call " + time;
    }
  }

  function renderConversation() {
    const t = tasks.get(selected);
    $("conv").hidden = !t;
    $("conv-empty").hidden = !!t;
    if (!t) {
      renderCall(null);
      return;
    }
    const conv = $("conv");
    conv.dataset.task = t.id;
    conv.dataset.status = t.status;
    const voice = isVoice(t.id);
    conv.dataset.channel = voice ? "voice" : "";
    const h = details.get(t.id);
    const task = (h && h.task) || {};
    const who = (voice && callerOf(t.id)) || contactName(t.id);
    $("conv-title").textContent = who || "Task " + t.id;
    $("conv-meta").textContent = [
      "Workflow " + (t.workflow || task.workflow || "—"),
      t.queue || task.queue ? "queue " + (t.queue || task.queue) : "",
      "channel " + (conversationChannel(t.id, t.channel) || "—"),
      t.status === "wrapping" ? "wrapping up" : "assigned",
    ].filter(Boolean).join(" · ");
    // A live call wraps up when it ends: Hang up, not Wrap up, ends it;
    // then its disposition is still to record.
    const wrapped = (notes.get(t.id) || []).some((n) => n.kind === "wrapup");
    $("wrapup").hidden = voice ? t.status !== "wrapping" || wrapped : t.status === "wrapping";
    if ($("wrapup").hidden && !$("wrapup-panel").hidden) togglePanel("wrapup", false);
    $("transfer-open").hidden = t.status === "wrapping";
    if (t.status === "wrapping" && !$("transfer-panel").hidden) togglePanel("transfer", false);
    for (const id of ["wrapup", "complete", "transfer", "transfer-open", "wrapup-submit"]) $(id).disabled = t.busy;
    // Replies are for messaging: a call is talked, not typed.
    $("reply-form").hidden = voice;
    renderCall(t);
    renderTargets();
    renderThread(t, h);
    renderTyping();
  }

  // renderCall shows the call of the voice task shown: its state, timer
  // and Hang up; nothing for a messaging task.
  function renderCall(t) {
    const panel = $("call");
    const voice = !!t && isVoice(t.id);
    panel.hidden = !voice;
    if (!voice) return;
    const phase = callPhase(t);
    panel.dataset.phase = phase;
    const who = callerOf(t.id) || contactName(t.id);
    $("call-title").textContent = who ? "Call with " + who : "Phone call";
    const status = {
      ringing: "Ringing your phone…",
      connected: "On the call",
      hangingup: "Hanging up…",
      ended: "Call ended: wrap up, then complete",
    }[phase];
    if ($("call-status").textContent !== status) $("call-status").textContent = status;
    const time = callTime(t);
    $("call-timer").textContent = time;
    $("call-timer").hidden = !time;
    const hang = $("hangup");
    const wasFocused = document.activeElement === hang;
    hang.hidden = phase === "ended";
    hang.disabled = phase === "hangingup" || t.busy;
    // The call is over: the focus goes on to what comes next.
    if (wasFocused && hang.hidden) $("complete").focus();
    $("call-facts").replaceChildren(...attributeFacts(t.id));
    $("call-facts").hidden = !$("call-facts").childElementCount;
  }

  // message is one transcript entry: role is customer, bot, me, agent
  // (a colleague) or note, and tells the label and the style.
  function message(dir, who, text, at, extra, role, media) {
    return el("li", Object.assign({ class: "msg " + dir + (role ? " " + { bot: "bot", agent: "agent-other", me: "agent-me", note: "note", customer: "customer" }[role] : ""),
      dataTestid: "message", "data-direction": dir, "data-role": role || (dir === "in" ? "customer" : "me") }, extra || {}),
    el("span", { class: "msg-who", dataTestid: "message-who", text: who }),
    text ? el("p", { class: "msg-text", dataTestid: "message-text", text }) : el("p", { class: "msg-text", dataTestid: "message-text", hidden: true, text: "" }),
    mediaList(media),
    el("time", { class: "msg-time", datetime: at || "", text: clock(at) }));
  }

  // mediaList shows the files a message carries: a picture when the
  // server that serves this page has it, a link in any case.
  function mediaList(media) {
    const urls = (Array.isArray(media) ? media : []).filter((u) => typeof u === "string" && /^https?:/i.test(u));
    if (!urls.length) return null;
    return el("div", { class: "media", dataTestid: "media" }, urls.map((u, i) => {
      const link = el("a", { href: u, target: "_blank", rel: "noopener noreferrer", dataTestid: "media-link", text: "Attachment " + (urls.length > 1 ? i + 1 : "") });
      let same = false;
      try { same = new URL(u).origin === location.origin; } catch (e) { same = false; }
      if (!same) return link;
      const img = el("img", { src: u, alt: "Attachment " + (i + 1), loading: "lazy", dataTestid: "media-image" });
      img.addEventListener("error", () => img.remove());
      return el("span", {}, img, " ", link);
    }));
  }

  function liveMessage(m) {
    const t = tasks.get(selected);
    return message("in", (t && contactName(t.id)) || "Customer", m.text, m.at, { "data-message": m.id, "data-live": "true" }, "customer", m.media);
  }

  // payloadOf reads a stored message's payload: the inbound message as the
  // connector normalized it, or an outbound one's record (its agent, media).
  function payloadOf(m) {
    return m && m.payload && typeof m.payload === "object" ? m.payload : {};
  }

  const STATE_TEXT = { sent: "Sent", delivered: "Delivered", read: "Read" };

  function noteEntry(n) {
    const by = n.worker_id ? (session && n.worker_id === session.worker ? "you" : workerName(n.worker_id)) : "an admin";
    const label = n.kind === "wrapup" ? "Wrap-up" + (n.disposition ? ": " + n.disposition : "") + " · " + by : "Internal note · " + by;
    return message("out", label, n.text, n.created_at, { "data-note": n.id, "data-kind": n.kind }, "note");
  }

  function renderThread(t, h) {
    const thread = $("thread");
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    const customer = contactName(t.id) || "Customer";
    const entries = []; // [time, element]
    const current = h && h.task ? h.task.conversation_id : "";
    const items = [];
    if (!h) items.push(el("li", { class: "sep", text: "Loading the conversation…" }));
    const c = ((h && h.conversations) || []).find((x) => x.id === current);
    if (c) {
      items.push(el("li", { class: "sep current", dataTestid: "conversation-separator", "data-conversation": c.id },
        channelLabel(c.channel) + (c.instance && c.instance !== "default" ? "/" + c.instance : "") + " · " +
        new Date(c.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) + " · this conversation"));
      for (const m of c.messages || []) {
        const p = payloadOf(m);
        if (m.direction === "in") {
          // A call's webhooks are stored as its messages, most without words.
          const text = m.text || (c.channel === "voice" ? "Phone call" : "");
          if (p.Status) continue; // a delivery report, not something the customer said
          entries.push([m.created_at, message("in", customer, text, m.created_at, { "data-message": m.id }, "customer", p.Media)]);
          continue;
        }
        const mine = p.agent && session && p.agent === session.worker;
        const role = !p.agent ? "bot" : mine ? "me" : "agent";
        const who = role === "bot" ? "Bot" : mine ? "You" : workerName(p.agent);
        const why = t.failed.get(m.id);
        const li = message("out", who, m.text, m.created_at, { "data-message": m.id, "data-state": mine ? (why === undefined ? replyState.get(m.id) || "sent" : "failed") : false }, role, p.media);
        if (mine) {
          const state = why === undefined ? replyState.get(m.id) || "sent" : "failed";
          li.append(el("span", { class: "msg-state", dataTestid: "message-state", "data-state": state,
            text: state === "failed" ? "Not delivered: " + why : STATE_TEXT[state] || state }));
        }
        entries.push([m.created_at, li]);
      }
    }
    for (const n of notes.get(t.id) || []) entries.push([n.created_at, noteEntry(n)]);
    entries.sort((a, b) => Date.parse(a[0]) - Date.parse(b[0]));
    items.push(...entries.map((e) => e[1]));
    for (const m of t.live) items.push(liveMessage(m));
    for (const r of t.local) {
      const li = message("out", "You", r.text, r.at, { "data-state": r.state }, "me", r.media);
      li.append(el("span", { class: "msg-state", dataTestid: "message-state", "data-state": r.state, text: { sending: "Sending…", queued: "Queued", failed: "Not sent: " + (r.error || "") }[r.state] }));
      items.push(li);
    }
    thread.replaceChildren(...items);
    if (atBottom) thread.scrollTop = thread.scrollHeight;
  }

  // ---- the desk: offers' details, notes, canned responses, lists ----------

  const CHANNEL_NAMES = { whatsapp: "WhatsApp", webchat: "Web chat", sms: "SMS", email: "Email", voice: "Call", messenger: "Messenger",
    instagram: "Instagram", telegram: "Telegram", line: "LINE", discord: "Discord", slack: "Slack", rcs: "RCS", custom: "Custom" };

  function channelLabel(ch) {
    return ch ? CHANNEL_NAMES[ch] || ch : "";
  }

  // channelOf is the channel the customer wrote on: the task's
  // conversation's, else the task's attribute, else its routing channel.
  function channelOf(taskID, fallback) {
    const h = details.get(taskID);
    if (h && h.task) {
      const c = (h.conversations || []).find((x) => x.id === h.task.conversation_id);
      if (c) return c.channel;
    }
    const a = taskAttributes(taskID);
    return typeof a.channel === "string" && a.channel ? a.channel : fallback || "";
  }

  function taskCreated(taskID) {
    const h = details.get(taskID);
    return h && h.task ? Date.parse(h.task.created_at) : NaN;
  }

  // workerName is a colleague's name as the API knows it, else the id.
  function workerName(id) {
    const w = colleagues.get(id);
    return (w && w.name) || id;
  }

  // askedBefore is what the customer asked before the hand-off: the
  // "question" attribute when the flow recorded one, else the first
  // customer message of the conversation that is free text, not the answer
  // to a menu (a tapped choice, a number, a word or two of three letters).
  function askedBefore(taskID) {
    const a = taskAttributes(taskID);
    for (const k of ["question", "asked", "reason"]) if (typeof a[k] === "string" && a[k].trim()) return a[k].trim();
    const h = details.get(taskID);
    if (!h || !h.task) return "";
    const c = (h.conversations || []).find((x) => x.id === h.task.conversation_id);
    for (const m of (c && c.messages) || []) {
      if (m.direction !== "in") continue;
      const p = payloadOf(m);
      const text = (m.text || "").trim();
      if (p.Choice || p.Status || !text || /^[\d\s.#*]+$/.test(text) || text.length <= 3) continue;
      return text;
    }
    return "";
  }

  // missed: the offer's time is up; its card says so until dismissed.
  function missed(resID) {
    const o = offers.get(resID);
    if (!o || o.missed) return;
    o.missed = true;
    o.busy = false;
    notice("You missed an offer: it went to someone else.");
    setTimeout(() => { if (offers.get(resID) === o) { offers.delete(resID); render(); } }, 120000);
  }

  // loadExpiry finds when a restored offer expires: its reservation.created event says.
  async function loadExpiry(resID, taskID) {
    try {
      const r = await call("GET", "tasks/" + enc(taskID) + "/events?limit=1000");
      const e = ((r && r.events) || []).find((x) => x.type === "reservation.created" && x.reservation_id === resID);
      const o = offers.get(resID);
      if (o && e && e.data && e.data.expires_at) {
        o.expiresAt = Date.parse(e.data.expires_at);
        render();
      }
    } catch (e) { /* the countdown is extra: the offer works without */ }
  }

  // tick keeps the clocks going (offers' countdowns, waiting times) and
  // turns an offer whose time is up into a missed one.
  function tick() {
    const need = offers.size > 0 || waiting.tasks.length > 0;
    if (need && !tickTimer) {
      tickTimer = setInterval(() => {
        for (const o of offers.values()) {
          if (!o.missed && o.expiresAt >= 0 && Date.now() > o.expiresAt + 1500) missed(o.id);
        }
        for (const li of $("offers").children) {
          const o = offers.get(li.dataset.key);
          if (o) renderOfferClock(li, o);
        }
        for (const li of $("waiting").children) {
          const w = waiting.tasks.find((x) => x.id === li.dataset.key);
          if (w) li.querySelector(".w-wait").textContent = duration(w.wait_ms + Date.now() - waiting.at);
        }
        if (!offers.size && !waiting.tasks.length) { clearInterval(tickTimer); tickTimer = 0; }
      }, 1000);
    }
  }

  // ---- alerts: a beep and a notification for a new offer --------------------

  function loadSettings() {
    try { Object.assign(settings, JSON.parse(localStorage.getItem(SETTINGS_KEY) || "{}")); } catch (e) { /* defaults */ }
    $("set-sound").checked = !!settings.sound;
    $("set-notify").checked = !!settings.notify;
  }

  function saveSettings() {
    settings.sound = $("set-sound").checked;
    settings.notify = $("set-notify").checked;
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings)); } catch (e) { /* this page only */ }
  }

  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator(), g = audio.createGain();
      o.type = "sine";
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.0001, audio.currentTime);
      g.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
      o.connect(g).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + 0.4);
      window.__beeps = (window.__beeps || 0) + 1;
    } catch (e) { /* no audio here */ }
  }

  function alertOffer(resID) {
    if (settings.sound) beep();
    if (settings.notify && "Notification" in window && Notification.permission === "granted" && document.hidden) {
      const o = offers.get(resID);
      try {
        const n = new Notification("New request", { body: (o && o.queue ? "Queue " + o.queue : "An offer") + " is waiting for you.", tag: resID });
        n.onclick = () => { window.focus(); n.close(); };
      } catch (e) { /* notifications unavailable */ }
    }
  }

  // ---- notes -----------------------------------------------------------------

  async function loadNotes(taskID) {
    try {
      const r = await call("GET", "tasks/" + enc(taskID) + "/notes");
      if (!tasks.has(taskID)) return;
      notes.set(taskID, (r && r.notes) || []);
      render();
    } catch (e) { /* shown again with the next refresh */ }
  }

  async function addNote(t, text) {
    try {
      const n = await call("POST", "tasks/" + enc(t.id) + "/notes", { text });
      notes.set(t.id, [...(notes.get(t.id) || []), n]);
      if (selected === t.id) $("reply-text").value = "";
      t.draft = "";
      clearError();
      notice("Note saved: only agents see it.");
    } catch (e) {
      if (e.status !== 401) showError("Saving the note failed", e);
    }
    render();
  }

  // ---- canned responses --------------------------------------------------------

  async function loadCanned() {
    try {
      const r = await call("GET", "canned-responses");
      canned = (r && r.canned_responses) || [];
    } catch (e) { canned = []; }
  }

  // fill puts the conversation's values in a canned response's placeholders.
  function fill(text, taskID) {
    const first = (s) => String(s || "").trim().split(/\s+/)[0] || "";
    const cname = contactName(taskID) || "";
    // The name customers see: the worker's name attribute, else its name, else its id.
    const wattrs = me && me.attributes && typeof me.attributes === "object" ? me.attributes : {};
    const wname = (typeof wattrs.name === "string" && wattrs.name) || (me && me.name) || (session && session.worker) || "";
    const t = tasks.get(taskID) || {};
    const values = { "contact.name": cname, "contact.first_name": first(cname), "worker.name": wname, "worker.first_name": first(wname),
      "queue": t.queue || "", "channel": channelLabel(channelOf(taskID, t.channel)) };
    return text.replace(/\{\{\s*([a-z_.]+)\s*\}\}/g, (all, key) => (key in values ? values[key] : all));
  }

  let cannedIndex = 0;
  function cannedQuery() {
    const v = $("reply-text").value;
    return v.startsWith("/") ? v.slice(1).toLowerCase() : null;
  }

  function openCanned(query) {
    const list = $("canned");
    const q = (query || "").trim().toLowerCase();
    const hits = canned.filter((c) => !q || c.title.toLowerCase().includes(q) || c.text.toLowerCase().includes(q));
    cannedIndex = Math.min(cannedIndex, Math.max(0, hits.length - 1));
    list.replaceChildren(...(hits.length ? hits.map((c, i) => el("li", { role: "option", id: "canned-" + c.id, dataTestid: "canned-option",
      "aria-selected": i === cannedIndex ? "true" : "false", "data-id": c.id, onmousedown: (ev) => { ev.preventDefault(); insertCanned(c); } },
    el("span", { class: "canned-title", text: c.title }), el("span", { class: "canned-text", text: c.text })))
      : [el("li", { class: "empty", text: canned.length ? "No canned response matches." : "No canned responses yet: an admin adds them." })]));
    list.hidden = false;
    $("canned-open").setAttribute("aria-expanded", "true");
    $("reply-text").setAttribute("aria-controls", "canned");
    $("reply-text").setAttribute("aria-activedescendant", hits[cannedIndex] ? "canned-" + hits[cannedIndex].id : "");
    return hits;
  }

  function closeCanned() {
    $("canned").hidden = true;
    $("canned-open").setAttribute("aria-expanded", "false");
    $("reply-text").removeAttribute("aria-activedescendant");
    cannedIndex = 0;
  }

  function insertCanned(c) {
    const box = $("reply-text");
    const text = fill(c.text, selected);
    box.value = cannedQuery() !== null ? text : (box.value ? box.value.replace(/\s*$/, " ") : "") + text;
    closeCanned();
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  // ---- attachments -------------------------------------------------------------

  async function sendFile(file) {
    const t = tasks.get(selected);
    if (!t || !file) return;
    const caption = $("note-mode").checked ? "" : $("reply-text").value.trim();
    const r = { id: "", text: caption || file.name, at: new Date().toISOString(), state: "sending", media: [] };
    t.local.push(r);
    if (caption) $("reply-text").value = "";
    render();
    const u = new URL("tasks/" + enc(t.id) + "/attachments", API);
    u.searchParams.set("filename", file.name);
    if (caption) u.searchParams.set("text", caption);
    try {
      const resp = await fetch(u, { method: "POST", body: file, cache: "no-store",
        headers: { Authorization: "Bearer " + session.token, "Content-Type": file.type || "application/octet-stream" } });
      const data = await resp.json().catch(() => null);
      if (!resp.ok) throw new APIError(resp.status, (data && data.error) || "HTTP " + resp.status);
      r.id = data.id;
      r.state = "queued";
      r.media = [data.attachment.url];
      clearError();
      for (const wait of [800, 3000]) setTimeout(() => { if (tasks.get(t.id) === t) refreshHistory(t.id); }, wait);
    } catch (e) {
      r.state = "failed";
      r.error = e.message;
      showError("Sending the file failed", e);
    }
    render();
  }

  // ---- typing, both ways -----------------------------------------------------------

  function renderTyping() {
    const t = tasks.get(selected);
    const on = t && typingUntil.get(t.id) > Date.now();
    const text = on ? (contactName(t.id) || "The customer") + " is typing…" : "";
    if ($("typing").textContent !== text) $("typing").textContent = text;
  }

  // typed tells the customer's channel the agent is typing, at most every 3 s.
  function typed() {
    const t = tasks.get(selected);
    if (!t || $("note-mode").checked || isVoice(t.id) || Date.now() - lastTypingSent < 3000) return;
    lastTypingSent = Date.now();
    call("POST", "tasks/" + enc(t.id) + "/typing", {}).catch(() => { /* best effort */ });
  }

  // ---- waiting tasks, recent conversations, the contact --------------------------------

  async function loadWaiting() {
    if (!session) return;
    try {
      const r = await call("GET", "workers/" + enc(session.worker) + "/waiting");
      waiting.tasks = (r && r.tasks) || [];
      waiting.total = (r && r.total) || 0;
      waiting.at = Date.now();
    } catch (e) { /* shown again with the next refresh */ }
    if (!waitingTimer && session) waitingTimer = setInterval(() => { if (!document.hidden) loadWaiting(); }, 5000);
    render();
  }

  function refName(c) {
    return (c && (c.name || c.address)) || "Customer";
  }

  function renderWaiting() {
    $("waiting-count").textContent = String(waiting.total);
    $("waiting-empty").hidden = waiting.tasks.length > 0;
    keyed($("waiting"), waiting.tasks, (w) => w.id, () => el("li", { dataTestid: "waiting-task" },
      el("span", { class: "w-who" }), el("span", { class: "w-wait", role: "timer" }), el("span", { class: "w-meta" })),
    (li, w) => {
      li.querySelector(".w-who").textContent = refName(w.contact);
      li.querySelector(".w-wait").textContent = duration(w.wait_ms + Date.now() - waiting.at);
      const a = w.attributes || {};
      li.querySelector(".w-meta").textContent = [w.queue, channelLabel(a.channel || w.channel), a.language, a.vip ? "VIP" : ""].filter(Boolean).join(" · ");
      li.setAttribute("aria-label", refName(w.contact) + " waiting in " + w.queue);
    });
  }

  async function loadRecent() {
    if (!session) return;
    try {
      const r = await call("GET", "workers/" + enc(session.worker) + "/conversations?limit=10");
      recent = ((r && r.conversations) || []).filter((c) => c.status === "completed" || c.status === "canceled" || c.worker_id !== session.worker);
    } catch (e) { /* optional */ }
    render();
  }

  function renderRecent() {
    $("recent-empty").hidden = recent.length > 0;
    keyed($("recent"), recent, (c) => c.id, (c) => el("li", { dataTestid: "recent-conversation" },
      el("button", { type: "button", onclick: () => { loadContact(c.contact.id, true); } },
        el("span", { class: "r-who" }), el("span", { class: "chan" }), el("span", { class: "r-meta" }))),
    (li, c) => {
      li.querySelector(".r-who").textContent = refName(c.contact);
      const ch = c.conversation_channel || c.channel;
      li.querySelector(".chan").textContent = channelLabel(ch);
      li.querySelector(".chan").dataset.channel = ch;
      li.querySelector(".r-meta").textContent = [c.queue, new Date(c.updated_at).toLocaleString([], { dateStyle: "short", timeStyle: "short" })].filter(Boolean).join(" · ");
      li.querySelector("button").setAttribute("aria-label", "Show " + refName(c.contact) + "'s history");
    });
  }

  async function loadContact(contactID, show) {
    if (!contactID) return;
    try {
      const r = await call("GET", "contacts/" + enc(contactID) + "/history");
      contacts.set(contactID, r);
      if (show) contactShown = contactID;
    } catch (e) {
      if (show && e.status !== 401) showError("Loading the contact failed", e);
    }
    render();
  }

  // renderContact fills the side panel: the selected conversation's
  // contact, or the one picked from the recent list.
  function renderContact() {
    const h = details.get(selected);
    const id = contactShown || (h && h.contact && h.contact.id) || "";
    const data = contacts.get(id);
    $("contact").hidden = !data;
    if (!data) return;
    const c = data.contact;
    $("contact").dataset.contact = c.id;
    $("contact-title").textContent = c.name || ((c.addresses || [])[0] || {}).address || "Customer";
    $("contact-addresses").replaceChildren(...(c.addresses || []).flatMap((a) => [
      el("dt", {}, el("span", { class: "chan", "data-channel": a.channel, text: channelLabel(a.channel) })),
      el("dd", { dataTestid: "contact-address", text: a.address })]));
    let attrs = c.attributes;
    if (typeof attrs !== "object" || !attrs) attrs = {};
    const facts = Object.entries(attrs).filter(([, v]) => v !== null && v !== "").flatMap(([k, v]) => [
      el("dt", { text: k.replace(/_/g, " ") }), el("dd", { "data-attribute": k, text: typeof v === "object" ? JSON.stringify(v) : String(v) })]);
    $("contact-attributes").replaceChildren(...(facts.length ? facts : [el("dd", { class: "empty", text: "None." })]));
    const current = h && h.task ? h.task.conversation_id : "";
    const past = (data.conversations || []).filter((x) => x.id !== current).reverse();
    const open = new Set([...$("contact-history").querySelectorAll("details[open]")].map((d) => d.dataset.conversation));
    $("contact-history").replaceChildren(...(past.length ? past.map((x) => el("li", {},
      el("details", { dataTestid: "past-conversation", "data-conversation": x.id, open: open.has(x.id) },
        el("summary", {}, el("span", { class: "chan", "data-channel": x.channel, text: channelLabel(x.channel) }), " ",
          new Date(x.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) + " · " + x.messages.length + " messages"),
        el("ol", {}, pastEntries(x, c)))))
      : [el("li", { class: "empty", text: "No other conversations." })]));
  }

  function pastEntries(x, c) {
    const out = [];
    for (const m of x.messages || []) {
      const p = payloadOf(m);
      if (p.Status) continue;
      const who = m.direction === "in" ? c.name || "Customer" : !p.agent ? "Bot" : session && p.agent === session.worker ? "You" : workerName(p.agent);
      out.push([m.created_at, el("li", { dataTestid: "past-message" }, el("span", { class: "h-who", text: who + ":" }), m.text || (p.Media || p.media ? "(attachment)" : ""))]);
    }
    for (const n of x.notes || []) {
      out.push([n.created_at, el("li", { class: "note" }, el("span", { class: "h-who", text: (n.kind === "wrapup" ? "Wrap-up" + (n.disposition ? " " + n.disposition : "") : "Note") + ":" }), n.text)]);
    }
    return out.sort((a, b) => Date.parse(a[0]) - Date.parse(b[0])).map((e) => e[1]);
  }

  // ---- panels: wrap-up and transfer ------------------------------------------------------

  const DISPOSITIONS = ["resolved", "follow-up", "escalated", "no-response", "duplicate", "spam"];
  const USED_KEY = "switchboard.agent.dispositions";

  function togglePanel(name, open) {
    const panel = $(name + "-panel");
    const button = $(name === "wrapup" ? "wrapup" : "transfer-open");
    const show = open === undefined ? panel.hidden : open;
    panel.hidden = !show;
    button.setAttribute("aria-expanded", show ? "true" : "false");
    if (!show) return;
    if (name === "wrapup") {
      let used = [];
      try { used = JSON.parse(localStorage.getItem(USED_KEY) || "[]"); } catch (e) { used = []; }
      $("dispositions").replaceChildren(...[...new Set([...used, ...DISPOSITIONS])].map((d) => el("option", { value: d })));
      togglePanel("transfer", false);
      $("wrapup-disposition").focus();
    } else {
      togglePanel("wrapup", false);
      loadTargets();
      $("transfer-target").focus();
    }
  }

  function wrapUp() {
    const disposition = $("wrapup-disposition").value.trim();
    const notesText = $("wrapup-notes").value.trim();
    const t = tasks.get(selected);
    if (!t) return;
    taskAction("wrapup", disposition || notesText ? { disposition, notes: notesText } : undefined, () => {
      if (disposition) {
        let used = [];
        try { used = JSON.parse(localStorage.getItem(USED_KEY) || "[]"); } catch (e) { used = []; }
        try { localStorage.setItem(USED_KEY, JSON.stringify([disposition, ...used.filter((d) => d !== disposition)].slice(0, 10))); } catch (e) { /* no storage */ }
      }
      $("wrapup-disposition").value = "";
      $("wrapup-notes").value = "";
      togglePanel("wrapup", false);
      loadNotes(t.id);
      notice("Wrapped up" + (disposition ? ": " + disposition : "") + ". Complete the conversation when you are done.");
      $("complete").focus();
    });
  }

  // renderPicker lists the transfer targets with their availability:
  // queues with the members available and tasks waiting, colleagues with
  // their activity and free chat capacity.
  function renderPicker() {
    const kind = $("transfer-kind").value;
    const target = $("transfer-target").value.trim();
    const items = kind === "worker"
      ? [...colleagues].filter(([id]) => !session || id !== session.worker).sort(([a], [b]) => a.localeCompare(b)).map(([id, w]) => {
        const free = w.free && w.free.chat !== undefined ? w.free.chat : null;
        const ok = w.activity === "available" && free !== 0;
        return { id, name: w.name || id, text: w.activity + (free !== null ? " · " + free + " free" : ""), ok };
      })
      : [...queues].sort().map((q) => {
        const s = queueStats.get(q) || {};
        const ok = s.available > 0;
        const text = s.available !== undefined ? s.available + " available · " + s.waiting + " waiting" : "";
        return { id: q, name: q, text, ok };
      });
    keyed($("transfer-picker"), items, (x) => kind + ":" + x.id, () => el("li", {}, el("button", { type: "button", dataTestid: "transfer-option" },
      el("span", { class: "pick-name" }), el("span", { class: "avail", dataTestid: "availability" }))),
    (li, x) => {
      const b = li.firstChild;
      b.dataset.target = x.id;
      b.querySelector(".pick-name").textContent = x.name;
      b.querySelector(".avail").textContent = x.text;
      b.querySelector(".avail").dataset.ok = x.ok ? "true" : "false";
      b.setAttribute("aria-pressed", x.id === target ? "true" : "false");
      b.setAttribute("aria-label", x.name + (x.text ? ", " + x.text : ""));
      b.onclick = () => { $("transfer-target").value = x.id; renderPicker(); };
    });
  }

  // ---- keyboard -----------------------------------------------------------------------

  function inField(e) {
    const t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function nextConversation() {
    const ids = [...tasks.keys()];
    if (!ids.length) return;
    select(ids[(ids.indexOf(selected) + 1) % ids.length]);
    $("reply-text").focus();
  }

  function oldestOffer() {
    return [...offers.values()].find((o) => !o.missed && !o.busy);
  }

  function onKey(e) {
    if (e.key === "Escape") {
      if (!$("canned").hidden) { closeCanned(); e.preventDefault(); return; }
      if (!$("settings").hidden) { toggleSettings(false); return; }
      if ($("desk").dataset.contact === "open") { toggleContact(false); $("contact-open").focus(); return; }
      for (const p of ["wrapup", "transfer"]) if (!$(p + "-panel").hidden) { togglePanel(p, false); $(p === "wrapup" ? "wrapup" : "transfer-open").focus(); return; }
      return;
    }
    if (!session || $("desk").hidden) return;
    const k = e.key.toLowerCase();
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      const code = e.code || "";
      const is = (c) => k === c || code === "Key" + c.toUpperCase();
      if (is("a") && oldestOffer()) { e.preventDefault(); answerOffer(oldestOffer().id, "accept"); }
      else if (is("r") && oldestOffer()) { e.preventDefault(); answerOffer(oldestOffer().id, "reject"); }
      else if (is("c") && tasks.get(selected)) { e.preventDefault(); $("reply-text").focus(); }
      else if (is("n")) { e.preventDefault(); nextConversation(); }
      return;
    }
    if (e.key === "?" && !inField(e) && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      $("help").showModal();
    }
  }

  // toggleContact opens the contact panel over the conversation, where
  // the window is too narrow for it beside.
  function toggleContact(open) {
    const show = open === undefined ? $("desk").dataset.contact !== "open" : open;
    $("desk").dataset.contact = show ? "open" : "";
    $("contact-open").setAttribute("aria-expanded", show ? "true" : "false");
  }

  function toggleSettings(open) {
    const show = open === undefined ? $("settings").hidden : open;
    $("settings").hidden = !show;
    $("settings-open").setAttribute("aria-expanded", show ? "true" : "false");
  }

  // ---- start ---------------------------------------------------------------

  // fromLink signs in with the session a link carries, #worker=ID&token=T,
  // and takes it out of the address bar (and the history) at once.
  function fromLink() {
    const frag = new URLSearchParams(location.hash.replace(/^#/, ""));
    const worker = frag.get("worker"), token = frag.get("token");
    if (!worker || !token) return false;
    history.replaceState(null, "", location.pathname + location.search);
    if (session) signOut();
    $("signin-worker").value = worker;
    signIn(worker, token);
    return true;
  }

  function start() {
    $("error-close").addEventListener("click", clearError);
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const worker = $("signin-worker").value.trim();
      const token = $("signin-token").value.trim();
      if (!worker || !token) {
        showError("Sign-in: enter both your worker ID and your worker token.");
        return;
      }
      $("signin-submit").disabled = true;
      signIn(worker, token).finally(() => { $("signin-submit").disabled = false; });
    });
    $("signout").addEventListener("click", () => signOut());
    $("activity").addEventListener("change", (ev) => setActivity(ev.target.value));
    $("reply-form").addEventListener("submit", (ev) => { ev.preventDefault(); sendReply(); });
    // Enter sends, Shift+Enter adds a line. Some input paths (automation,
    // some IMEs) insert the line break even when keydown was handled, so
    // the line break that follows a sending Enter is dropped too.
    let sentByEnter = false;
    // The canned responses' picker, open while the reply starts with "/":
    // arrows move, Enter or Tab inserts, Escape closes.
    $("reply-text").addEventListener("keydown", (ev) => {
      if ($("canned").hidden) return;
      const hits = openCanned(cannedQuery() || "");
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        cannedIndex = (cannedIndex + (ev.key === "ArrowDown" ? 1 : -1) + Math.max(1, hits.length)) % Math.max(1, hits.length);
        openCanned(cannedQuery() || "");
      } else if ((ev.key === "Enter" || ev.key === "Tab") && hits[cannedIndex]) {
        insertCanned(hits[cannedIndex]);
        sentByEnter = ev.key === "Enter";
      } else {
        return;
      }
      ev.preventDefault();
      ev.stopImmediatePropagation();
    });
    $("reply-text").addEventListener("input", () => {
      const q = cannedQuery();
      if (q !== null) openCanned(q);
      else if (!$("canned").hidden) closeCanned();
      typed();
    });
    $("reply-text").addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== $("reply-text")) closeCanned(); }, 150));
    $("canned-open").addEventListener("click", () => {
      if ($("canned").hidden) { loadCanned().then(() => openCanned(cannedQuery() || "")); $("reply-text").focus(); } else closeCanned();
    });
    $("note-mode").addEventListener("change", () => {
      const note = $("note-mode").checked;
      $("reply-form").dataset.mode = note ? "note" : "reply";
      $("reply-label").textContent = note ? "Internal note (agents only)" : "Reply";
      $("send").textContent = note ? "Save note" : "Send";
      $("reply-text").focus();
    });
    $("attach").addEventListener("click", () => $("attach-file").click());
    $("attach-file").addEventListener("change", () => {
      const f = $("attach-file").files[0];
      $("attach-file").value = "";
      if (f) sendFile(f);
    });
    $("wrapup").addEventListener("click", () => togglePanel("wrapup"));
    $("wrapup-form").addEventListener("submit", (ev) => { ev.preventDefault(); wrapUp(); });
    $("wrapup-cancel").addEventListener("click", () => { togglePanel("wrapup", false); $("wrapup").focus(); });
    $("transfer-open").addEventListener("click", () => togglePanel("transfer"));
    $("transfer-target").addEventListener("input", renderPicker);
    $("back").addEventListener("click", () => { showList = true; render(); });
    $("contact-open").addEventListener("click", () => toggleContact());
    $("help-open").addEventListener("click", () => $("help").showModal());
    $("settings-open").addEventListener("click", () => toggleSettings());
    for (const id of ["set-sound", "set-notify"]) $(id).addEventListener("change", saveSettings);
    $("set-notify").addEventListener("change", () => {
      if ($("set-notify").checked && "Notification" in window && Notification.permission === "default") Notification.requestPermission();
    });
    $("set-sound").addEventListener("change", () => { if ($("set-sound").checked) beep(); });
    document.addEventListener("keydown", onKey);
    loadSettings();
    $("reply-text").addEventListener("keydown", (ev) => {
      sentByEnter = false;
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        sentByEnter = true;
        sendReply();
      }
    });
    $("reply-text").addEventListener("beforeinput", (ev) => {
      if (sentByEnter && (ev.inputType === "insertLineBreak" || ev.inputType === "insertParagraph" || ev.data === "\r" || ev.data === "\n")) {
        ev.preventDefault();
      }
      sentByEnter = false;
    });
    $("reply-text").addEventListener("keyup", () => { sentByEnter = false; });
    $("complete").addEventListener("click", () => taskAction("complete"));
    $("hangup").addEventListener("click", hangUp);
    $("transfer-form").addEventListener("submit", (ev) => { ev.preventDefault(); transfer(); });
    $("transfer-kind").addEventListener("change", () => { renderTargets(); loadTargets(); });
    window.addEventListener("online", () => { if (session && !socket) connect(); });
    document.addEventListener("visibilitychange", () => {
      const t = tasks.get(selected);
      if (!document.hidden && t && t.unread) { t.unread = 0; render(); }
    });

    window.addEventListener("hashchange", fromLink); // a link followed while the page is open
    if (fromLink()) return;
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null"); } catch (e) { saved = null; }
    if (saved && saved.worker && saved.token) {
      $("signin-worker").value = saved.worker;
      signIn(saved.worker, saved.token);
      return;
    }
    showSignIn();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
