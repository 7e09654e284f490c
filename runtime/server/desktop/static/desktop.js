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
  const colleagues = new Map(); // worker id → {name, activity} (GET /v1/workers), for the transfer form
  let selected = "";
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
  }

  // loadTargets asks who and where a conversation can be transferred to.
  async function loadTargets() {
    try {
      const q = await call("GET", "queues");
      for (const x of (q && q.queues) || []) queues.add(x.name);
      const w = await call("GET", "workers");
      colleagues.clear();
      for (const x of (w && w.workers) || []) colleagues.set(x.id, { name: x.name, activity: x.activity });
    } catch (e) {
      return; // suggestions only: the form still takes any name
    }
    renderTargets();
  }

  function onHello(hello) {
    loadTargets();
    if (hello.worker) me = hello.worker;
    if (hello.after) lastSeq = String(hello.after);
    const open = new Set();
    for (const r of hello.reservations || []) {
      open.add(r.id);
      const info = r.task ? { queue: r.task.queue, workflow: r.task.workflow, channel: r.task.channel } : {};
      if (r.status === "pending") {
        if (!offers.has(r.id)) offers.set(r.id, Object.assign({ id: r.id, task: r.task_id, at: r.created_at }, info));
        loadDetails(r.task_id);
      } else {
        // An accepted reservation last changed when it was accepted: the
        // call began then. A wrapping call's end is not known.
        info.acceptedAt = r.status === "accepted" ? Date.parse(r.updated_at) : NaN;
        ensureTask(r.task_id, r.id, r.status === "wrapping" ? "wrapping" : "assigned", info);
      }
    }
    for (const id of [...offers.keys()]) if (!open.has(id)) offers.delete(id);
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
          offers.set(e.reservation_id, { id: e.reservation_id, task: e.task_id, queue: e.queue, workflow: d.workflow, channel: d.channel, priority: d.priority, at: e.time });
          notice((d.channel === "voice" ? "Incoming call" : "New offer") + (e.queue ? " from queue " + e.queue : "") + ".");
        }
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
        if (offers.delete(e.reservation_id)) notice("An offer timed out and went to someone else.");
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
        if (e.task_id === selected) refreshHistory(selected);
        break;
      case "agent.reply.failed":
        replyFailed(e.task_id, d);
        showError("A reply to " + taskLabel(e.task_id) + " could not be delivered" + (d.error ? ": " + d.error : "") + ".");
        break;
      case "task.completed":
      case "task.canceled":
        for (const [id, o] of [...offers]) if (o.task === e.task_id) offers.delete(id);
        dropTask(e.task_id);
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
        addIncoming(e.task_id, { id: d.message_id, conv: d.conversation_id, text: d.text || "", at: e.time });
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
    const t = tasks.get(id);
    if (t) {
      t.unread = 0;
      $("reply-text").value = t.draft || "";
      refreshHistory(id);
    }
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

  function lastCustomerText(taskID) {
    const h = details.get(taskID);
    if (!h || !h.task) return "";
    const c = (h.conversations || []).find((x) => x.id === h.task.conversation_id);
    const msgs = (c && c.messages) || [];
    for (let i = msgs.length - 1; i >= 0; i--) if (msgs[i].direction === "in") return msgs[i].text;
    return "";
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
      showError("Type a reply first.");
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
    const n = offers.size;
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
    $("offers-count").textContent = String(items.length);
    $("offers-empty").hidden = items.length > 0;
    keyed($("offers"), items, (o) => o.id, (o) => {
      const li = el("li", { class: "offer", dataTestid: "offer", "data-reservation": o.id, "data-task": o.task },
        el("h3", { class: "offer-title" }, el("span", { class: "offer-icon" }, phoneIcon()), el("span", { class: "offer-text" })),
        el("p", { class: "caller" }, el("span", { class: "caller-label", text: "Caller" }), " ",
          el("strong", { class: "caller-number", dataTestid: "caller" })),
        el("dl", { class: "facts" }),
        el("p", { class: "preview" }),
        el("div", { class: "buttons" },
          el("button", { type: "button", class: "primary", dataTestid: "accept", text: "Accept", onclick: () => answerOffer(o.id, "accept") }),
          el("button", { type: "button", dataTestid: "reject", text: "Reject", onclick: () => answerOffer(o.id, "reject") })));
      li.setAttribute("aria-label", "Offer");
      return li;
    }, (li, o) => {
      const h = details.get(o.task);
      const t = (h && h.task) || {};
      const voice = isVoice(o.task);
      const who = voice ? callerOf(o.task) : contactName(o.task);
      const title = voice ? "Incoming call" : who ? "Request from " + who : "New request";
      li.classList.toggle("voice", voice);
      li.dataset.channel = voice ? "voice" : "";
      li.querySelector(".offer-icon").hidden = !voice;
      li.querySelector(".offer-text").textContent = title;
      li.querySelector(".caller").hidden = !voice || !who;
      li.querySelector(".caller-number").textContent = who;
      const facts = [
        el("dt", { text: "Workflow" }), el("dd", { "data-field": "workflow", text: o.workflow || t.workflow || "—" }),
        el("dt", { text: "Channel" }), el("dd", { "data-field": "channel", text: conversationChannel(o.task, o.channel) || "—" }),
        el("dt", { text: "Queue" }), el("dd", { "data-field": "queue", text: o.queue || t.queue || "—" }),
      ];
      if (voice) facts.push(...attributeFacts(o.task));
      li.querySelector(".facts").replaceChildren(...facts);
      const preview = voice ? "" : lastCustomerText(o.task);
      li.querySelector(".preview").textContent = preview ? "“" + preview + "”" : "";
      li.querySelector(".preview").hidden = !preview;
      for (const b of li.querySelectorAll("button")) b.disabled = !!o.busy;
      li.querySelector('[data-testid="accept"]').setAttribute("aria-label", voice ? "Accept the call" + (who ? " from " + who : "") : "Accept");
      li.querySelector('[data-testid="reject"]').setAttribute("aria-label", voice ? "Reject the call" + (who ? " from " + who : "") : "Reject");
      li.setAttribute("aria-label", voice && who ? title + " from " + who : title);
    });
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
      "queue " + (t.queue || task.queue || "—"),
      "channel " + (conversationChannel(t.id, t.channel) || "—"),
      t.status === "wrapping" ? "wrapping up" : "assigned",
    ].join(" · ");
    // A live call wraps up when it ends: Hang up, not Wrap up, ends it.
    $("wrapup").hidden = t.status === "wrapping" || voice;
    for (const id of ["wrapup", "complete", "transfer"]) $(id).disabled = t.busy;
    // Replies are for messaging: a call is talked, not typed.
    $("reply-form").hidden = voice;
    renderCall(t);
    renderTargets();
    renderThread(t, h);
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

  function message(dir, who, text, at, extra) {
    return el("li", Object.assign({ class: "msg " + dir, dataTestid: "message", "data-direction": dir }, extra || {}),
      el("span", { class: "msg-who", text: who }),
      el("p", { class: "msg-text", dataTestid: "message-text", text }),
      el("time", { class: "msg-time", datetime: at || "", text: clock(at) }));
  }

  function liveMessage(m) {
    const t = tasks.get(selected);
    return message("in", (t && contactName(t.id)) || "Customer", m.text, m.at, { "data-message": m.id, "data-live": "true" });
  }

  function renderThread(t, h) {
    const thread = $("thread");
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    const customer = contactName(t.id) || "Customer";
    const items = [];
    const current = h && h.task ? h.task.conversation_id : "";
    if (!h) items.push(el("li", { class: "sep", text: "Loading the history…" }));
    for (const c of (h && h.conversations) || []) {
      const isCurrent = c.id === current;
      items.push(el("li", { class: "sep" + (isCurrent ? " current" : ""), dataTestid: "conversation-separator", "data-conversation": c.id },
        c.channel + (c.instance && c.instance !== "default" ? "/" + c.instance : "") + " · " +
        new Date(c.created_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) + (isCurrent ? " · this conversation" : "")));
      for (const m of c.messages || []) {
        if (m.direction === "in") {
          // A call's webhooks are stored as its messages, most without words.
          const text = m.text || (c.channel === "voice" ? "Phone call" : "");
          items.push(message("in", customer, text, m.created_at, { "data-message": m.id }));
          continue;
        }
        const why = t.failed.get(m.id);
        const li = message("out", "Sent", m.text, m.created_at, { "data-message": m.id, "data-state": why === undefined ? false : "failed" });
        if (why !== undefined) li.append(el("span", { class: "msg-state", dataTestid: "message-state", text: "not delivered: " + why }));
        items.push(li);
      }
      // New messages go with their conversation.
      for (const m of t.live) if (m.conv === c.id) items.push(liveMessage(m));
    }
    const shown = new Set(((h && h.conversations) || []).map((c) => c.id));
    for (const m of t.live) if (!shown.has(m.conv)) items.push(liveMessage(m));
    for (const r of t.local) {
      const li = message("out", "You", r.text, r.at, { "data-state": r.state });
      li.append(el("span", { class: "msg-state", dataTestid: "message-state", text: { sending: "sending…", queued: "queued", failed: "not sent: " + (r.error || "") }[r.state] }));
      items.push(li);
    }
    thread.replaceChildren(...items);
    if (atBottom) thread.scrollTop = thread.scrollHeight;
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
    $("wrapup").addEventListener("click", () => taskAction("wrapup"));
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
