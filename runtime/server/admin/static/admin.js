// Switchboard admin console: an administrator signs in with an admin token
// and deploys programs, watches the flows' steps, the queues and workers,
// manages workers and their tokens, reads conversations, handles dead
// letters and reads the router's event log. Plain JavaScript, no build
// step; every call is the admin API's (/v1) of the server that serves it.
"use strict";

(() => {
  const STORAGE_KEY = "switchboard.admin.token";
  // The page is {prefix}/admin/: the API is {prefix}/v1/.
  const API = new URL("../v1/", location.href);
  const REFRESH = 3000;
  const CHANNELS = ["sms", "whatsapp", "webchat", "messenger", "instagram", "line", "telegram",
    "discord", "slack", "email", "rcs", "voice", "custom"];
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;

  let token = "";
  let tab = "programs";
  let timer = 0;
  let version = "", flow = "";  // the program version and flow drawn
  let editing = "";             // the worker being edited
  let convNext = "", deadNext = "", evNext = "";
  let selectedConv = "";

  // ---- DOM helpers -----------------------------------------------------

  function el(tag, props, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c !== undefined && c !== null && c !== false) e.append(c);
    }
    return e;
  }

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  }

  function when(at) {
    const d = new Date(at);
    return isNaN(d) || d.getFullYear() < 2000 ? "" : d.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
  }

  function seconds(s) {
    s = Math.round(s || 0);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function showError(what, err) {
    $("error-text").textContent = err === undefined ? what : what + ": " + (err && err.message ? err.message : String(err));
    $("error").hidden = false;
  }

  function clearError() {
    $("error").hidden = true;
    $("error-text").textContent = "";
  }

  let noticeTimer = 0;
  function notice(text) {
    $("notice").textContent = text;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { $("notice").textContent = ""; }, 8000);
  }

  // ---- the API -----------------------------------------------------------

  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: "Bearer " + token } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(new URL(path, API), opts);
    } catch (e) {
      const err = new Error("the server does not answer");
      err.status = 0;
      throw err;
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error((data && data.error) || res.status + " " + res.statusText);
      err.status = res.status;
      err.data = data;
      if (res.status === 401 && token) signOut("Your admin token is no longer valid: " + err.message);
      throw err;
    }
    return data;
  }

  // ---- sign in -------------------------------------------------------------

  async function signIn(t) {
    token = t;
    $("signin-submit").disabled = true;
    try {
      await api("GET", "programs");
    } catch (e) {
      token = "";
      $("signin-submit").disabled = false;
      try { sessionStorage.removeItem(STORAGE_KEY); } catch (e2) { /* nothing stored */ }
      showSignIn();
      showError(e.status === 403 ? "Sign-in failed: that is a worker's token, the console needs an admin token" : "Sign-in failed", e.status === 403 ? undefined : e);
      return;
    }
    try { sessionStorage.setItem(STORAGE_KEY, token); } catch (e) { /* storage off: the session lasts as long as the page */ }
    clearError();
    $("signin").hidden = true;
    $("signin-token").value = "";
    $("signin-submit").disabled = false;
    $("console").hidden = false;
    $("tabs").hidden = false;
    $("signout").hidden = false;
    show(tab);
  }

  function signOut(reason) {
    token = "";
    clearTimeout(timer);
    try { sessionStorage.removeItem(STORAGE_KEY); } catch (e) { /* nothing stored */ }
    showSignIn();
    if (reason) showError(reason);
    else clearError();
  }

  function showSignIn() {
    $("console").hidden = true;
    $("tabs").hidden = true;
    $("signout").hidden = true;
    $("signin").hidden = false;
    $("signin-token").focus();
  }

  // ---- tabs ------------------------------------------------------------------

  const loaders = {
    programs: loadPrograms,
    workers: loadWorkers,
    live: loadLive,
    conversations: () => { if (!$("conv-rows").childElementCount) searchConversations(false); },
    deadletters: () => loadDeadLetters(false),
    events: () => loadEvents(false),
  };
  // What refreshes by itself while its tab shows.
  const live = { programs: refreshGraph, live: loadLive };

  function show(name) {
    tab = name;
    for (const b of document.querySelectorAll("[role=tab]")) {
      const on = b.dataset.tab === name;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
      $(b.dataset.tab).hidden = !on;
    }
    clearTimeout(timer);
    Promise.resolve(loaders[name]()).catch((e) => showError("Loading " + name, e)).finally(tick);
  }

  function tick() {
    clearTimeout(timer);
    const f = live[tab];
    if (!f || !token) return;
    timer = setTimeout(() => {
      Promise.resolve(f()).catch((e) => showError("Refreshing", e)).finally(tick);
    }, REFRESH);
  }

  function onTabKey(ev) {
    const tabs = [...document.querySelectorAll("[role=tab]")];
    const i = tabs.indexOf(ev.target);
    let j = -1;
    if (ev.key === "ArrowRight") j = (i + 1) % tabs.length;
    else if (ev.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = tabs.length - 1;
    if (j < 0) return;
    ev.preventDefault();
    tabs[j].focus();
    show(tabs[j].dataset.tab);
  }

  // ---- programs ----------------------------------------------------------------

  async function loadPrograms() {
    const data = await api("GET", "programs");
    const rows = $("versions");
    rows.replaceChildren();
    const programs = data.programs || [];
    if (!version || !programs.some((p) => p.version === version)) {
      const active = programs.find((p) => p.active);
      version = active ? active.version : "";
      flow = "";
    }
    for (const p of programs) {
      const pick = el("button", { type: "button", class: "link mono", "aria-pressed": p.version === version ? "true" : "false",
        title: p.version, onclick: () => { version = p.version; flow = ""; loadPrograms().catch((e) => showError("Loading the program", e)); } },
        p.version.slice(0, 12));
      rows.append(el("tr", { class: p.version === version ? "selected" : "" },
        el("td", {}, pick), el("td", { text: when(p.created_at) }), el("td", { text: p.active ? "active" : "" })));
    }
    if (!programs.length) rows.append(el("tr", {}, el("td", { colspan: 3, class: "muted", text: "No program deployed yet." })));
    await loadFlows();
  }

  async function loadFlows() {
    const box = $("flows");
    box.replaceChildren();
    if (!version) { $("graph-box").hidden = true; return; }
    const p = await api("GET", "programs/" + enc(version));
    const flows = p.flows || [];
    if (!flow || !flows.some((f) => f.name === flow)) flow = flows.length ? flows[0].name : "";
    for (const f of flows) {
      box.append(el("button", { type: "button", class: "chip", "aria-pressed": f.name === flow ? "true" : "false",
        "data-flow": f.name, onclick: () => { flow = f.name; loadFlows().catch((e) => showError("Loading the flow", e)); } },
      f.name + " (" + f.steps + " steps)"));
    }
    if (p.files && p.files.length) box.append(el("p", { class: "muted", text: "Files: " + p.files.join(", ") }));
    await refreshGraph();
  }

  async function refreshGraph() {
    if (!version || !flow) { $("graph-box").hidden = true; return; }
    const g = await api("GET", "programs/" + enc(version) + "/flows/" + enc(flow) + "/graph");
    drawGraph(g);
  }

  // drawGraph draws the laid-out state machine: a box per step with the
  // executions waiting at it, an arrow per transition.
  function drawGraph(g) {
    $("graph-box").hidden = false;
    $("graph-caption").textContent = "Flow " + g.flow + " of version " + g.version.slice(0, 12) + ": " +
      g.waiting + (g.waiting === 1 ? " execution waits" : " executions wait") + " at its steps now";
    const byId = {};
    for (const n of g.nodes) byId[n.id] = n;
    const root = svg("svg", { width: g.width, height: g.height, viewBox: "0 0 " + g.width + " " + g.height,
      role: "img", "aria-labelledby": "graph-caption", "data-testid": "graph-svg" });
    root.append(svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))));
    const labels = [];
    for (const e of g.edges) {
      const d = e.points.map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ");
      const path = svg("path", { d, class: "edge" + (e.back ? " back" : ""), "marker-end": "url(#arrow)" });
      const title = () => svg("title", {}, document.createTextNode(byId[e.from].name + " → " + byId[e.to].name + (e.title ? ": " + e.title : "")));
      path.append(title());
      root.append(path);
      if (e.label) {
        const t = svg("text", { x: e.label_x, y: e.label_y, class: "edge-label", "text-anchor": "middle" });
        t.textContent = e.label;
        t.append(title());
        labels.push(t);
      }
    }
    root.append(...labels); // over every arrow
    for (const n of g.nodes) {
      const grp = svg("g", { class: "node" + (n.waiting ? " busy" : "") + (n.state < 0 ? " done" : ""), "data-step": n.name,
        "data-waiting": n.waiting, transform: "translate(" + n.x + "," + n.y + ")" });
      if (n.state < 0) {
        grp.append(svg("circle", { cx: n.w / 2, cy: n.h / 2, r: n.h / 2 - 2 }));
        const t = svg("text", { x: n.w / 2, y: n.h / 2 + 4, "text-anchor": "middle" });
        t.textContent = "done";
        grp.append(t);
      } else {
        grp.append(svg("rect", { width: n.w, height: n.h, rx: 6 }));
        const name = svg("text", { x: 10, y: 19, class: "step-name" });
        name.textContent = n.name;
        const kind = svg("text", { x: 10, y: 36, class: "step-kind" });
        kind.textContent = n.kind;
        grp.append(name, kind);
        if (n.waiting) {
          const label = String(n.waiting);
          const w = 12 + 7 * label.length;
          grp.append(svg("rect", { x: n.w - w / 2 - 4, y: -9, width: w, height: 18, rx: 9, class: "badge" }));
          const c = svg("text", { x: n.w - 4, y: 4, "text-anchor": "middle", class: "badge-text", "data-testid": "waiting-" + n.name });
          c.textContent = label;
          grp.append(c);
        }
        grp.append(svg("title", {}, document.createTextNode(n.name + ": " + n.kind + " — " + n.waiting + " waiting")));
      }
      root.append(grp);
    }
    $("graph").replaceChildren(root);
  }

  // readFiles reads the picked files: .flow files only, by their path in
  // the folder when one was picked.
  function readFiles() {
    const picked = [...$("deploy-files").files, ...$("deploy-dir").files].filter((f) => f.name.endsWith(".flow"));
    return Promise.all(picked.map((f) => f.text().then((src) => [f.webkitRelativePath || f.name, src])));
  }

  async function deploy(ev) {
    ev.preventDefault();
    const out = $("deploy-result");
    out.replaceChildren();
    const files = await readFiles();
    if (!files.length) {
      out.append(el("p", { class: "bad", text: "Pick .flow files or a folder holding some first." }));
      return;
    }
    $("deploy-submit").disabled = true;
    try {
      const res = await api("POST", "programs", { files: Object.fromEntries(files) });
      out.append(el("p", { class: "good", "data-testid": "deployed", text: "Deployed version " + res.version.slice(0, 12) + " from " + files.length + " file(s): new conversations start on it." }));
      if (res.diagnostics && res.diagnostics.length) out.append(diagnostics(res.diagnostics));
      version = res.version;
      flow = "";
      $("deploy-files").value = "";
      $("deploy-dir").value = "";
      await loadPrograms();
    } catch (e) {
      out.append(el("p", { class: "bad", text: "Not deployed: " + e.message + "." }));
      if (e.data && e.data.diagnostics) out.append(diagnostics(e.data.diagnostics));
    } finally {
      $("deploy-submit").disabled = false;
    }
  }

  // diagnostics lists a deploy's diagnostics as file:line:col, severity and
  // code, message, hint.
  function diagnostics(list) {
    return el("ul", { class: "diagnostics", "data-testid": "diagnostics" }, list.map((d) => {
      const at = d.file + ":" + (d.start ? d.start.line + ":" + d.start.col : "");
      return el("li", { class: d.severity },
        el("code", { class: "at", text: at }), " ",
        el("span", { class: "sev", text: d.severity + (d.code ? "[" + d.code + "]" : "") + ":" }), " ",
        el("span", { class: "msg", text: d.message }),
        d.hint ? el("div", { class: "hint", text: "hint: " + d.hint }) : null);
    }));
  }

  // ---- workers -----------------------------------------------------------------

  async function loadWorkers() {
    const [ws, ts] = await Promise.all([api("GET", "workers"), api("GET", "tokens")]);
    const tokens = {};
    for (const t of ts.tokens || []) {
      if (t.role === "worker") (tokens[t.worker] = tokens[t.worker] || []).push(t);
    }
    const rows = $("worker-rows");
    rows.replaceChildren();
    for (const w of ws.workers || []) {
      const caps = Object.entries(w.capacity || {}).map(([k, v]) => k + " " + v).join(", ");
      const toks = el("ul", { class: "tokens" }, (tokens[w.id] || []).map((t) => el("li", {},
        el("code", { text: t.id }), t.expired ? " (expired)" : "", t.last_used_at ? " used " + when(t.last_used_at) : " never used", " ",
        el("button", { type: "button", class: "link", "aria-label": "Revoke token " + t.id + " of " + w.id,
          onclick: () => revoke(t.id) }, "Revoke"))));
      rows.append(el("tr", { "data-worker": w.id },
        el("td", { class: "mono", text: w.id }), el("td", { text: w.name || "" }), el("td", { text: w.activity }),
        el("td", { text: caps }), el("td", { class: "mono small", text: JSON.stringify(w.attributes || {}) }),
        el("td", {}, toks),
        el("td", { class: "actions" },
          el("button", { type: "button", class: "secondary", "aria-label": "Edit " + w.id, onclick: () => edit(w) }, "Edit"),
          el("button", { type: "button", "data-testid": "issue-" + w.id, "aria-label": "Issue a token for " + w.id, onclick: () => issue(w.id) }, "Issue token"),
          el("button", { type: "button", class: "danger", "aria-label": "Delete " + w.id, onclick: () => removeWorker(w.id) }, "Delete"))));
    }
    if (!rows.childElementCount) rows.append(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No workers yet." })));
  }

  function edit(w) {
    editing = w.id;
    $("worker-form-title").textContent = "Edit worker " + w.id;
    $("w-id").value = w.id;
    $("w-id").disabled = true;
    $("w-name").value = w.name || "";
    $("w-activity").value = w.activity;
    $("w-attrs").value = JSON.stringify(w.attributes || {}, null, 1);
    for (const ch of ["chat", "voice", "email"]) $("w-" + ch).value = (w.capacity || {})[ch] ?? 0;
    $("w-submit").textContent = "Save changes";
    $("w-cancel").hidden = false;
    $("w-name").focus();
  }

  function resetWorkerForm() {
    editing = "";
    $("worker-form").reset();
    $("w-attrs").value = "{}";
    $("w-id").disabled = false;
    $("worker-form-title").textContent = "New worker";
    $("w-submit").textContent = "Create worker";
    $("w-cancel").hidden = true;
  }

  async function saveWorker(ev) {
    ev.preventDefault();
    let attributes;
    try {
      attributes = JSON.parse($("w-attrs").value || "{}");
      if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) throw new Error("want a JSON object");
    } catch (e) {
      showError("Attributes", e);
      $("w-attrs").focus();
      return;
    }
    const capacity = {};
    for (const ch of ["chat", "voice", "email"]) capacity[ch] = Number($("w-" + ch).value) || 0;
    const body = { name: $("w-name").value, attributes, activity: $("w-activity").value, capacity };
    try {
      if (editing) {
        await api("PATCH", "workers/" + enc(editing), body);
        notice("Worker " + editing + " saved.");
      } else {
        body.id = $("w-id").value.trim();
        const res = await api("POST", "workers", body);
        showToken(body.id, res.token, res.token_id);
      }
      clearError();
      resetWorkerForm();
      await loadWorkers();
    } catch (e) {
      showError(editing ? "Saving the worker" : "Creating the worker", e);
    }
  }

  function showToken(worker, secret, id) {
    const box = $("issued");
    box.replaceChildren(
      el("p", {}, "Token ", el("code", { text: id }), " for ", el("strong", { text: worker }), ", shown this once: give it to the agent for the desktop (/agent/)."),
      el("label", { for: "issued-token" }, "Token"),
      el("input", { id: "issued-token", "data-testid": "issued-token", readonly: true, value: secret, class: "mono", spellcheck: "false" }),
      el("button", { type: "button", class: "secondary", onclick: () => { box.hidden = true; box.replaceChildren(); } }, "Done"));
    box.hidden = false;
    $("issued-token").select();
  }

  async function issue(worker) {
    try {
      const res = await api("POST", "workers/" + enc(worker) + "/tokens", {});
      showToken(worker, res.token, res.id);
      await loadWorkers();
    } catch (e) {
      showError("Issuing a token", e);
    }
  }

  async function revoke(id) {
    if (!confirm("Revoke token " + id + "? The agent using it is signed out.")) return;
    try {
      await api("DELETE", "tokens/" + enc(id));
      notice("Token " + id + " revoked.");
      await loadWorkers();
    } catch (e) {
      showError("Revoking the token", e);
    }
  }

  async function removeWorker(id) {
    if (!confirm("Delete worker " + id + " and revoke its tokens?")) return;
    try {
      await api("DELETE", "workers/" + enc(id));
      notice("Worker " + id + " deleted.");
      await loadWorkers();
    } catch (e) {
      showError("Deleting the worker", e);
    }
  }

  // ---- live ----------------------------------------------------------------------

  async function loadLive() {
    const [stats, ws, assigned, wrapping, reserved] = await Promise.all([api("GET", "router/stats"), api("GET", "workers"),
      api("GET", "tasks?status=assigned&limit=1000"), api("GET", "tasks?status=wrapping&limit=1000"), api("GET", "tasks?status=reserved&limit=1000")]);
    const levels = (stats.cumulative && stats.cumulative.service_levels_s) || [];
    const cum = (stats.cumulative && stats.cumulative.queues) || {};
    const rows = $("queue-rows");
    rows.replaceChildren();
    for (const q of stats.queues || []) {
      const c = cum[q.queue];
      const sl = c && c.accepted ? (c.service_level || []).map((v, i) => Math.round(v * 100) + "% ≤ " + levels[i] + " s").join(", ") : "—";
      rows.append(el("tr", { "data-queue": q.queue },
        el("th", { scope: "row", text: q.queue }), el("td", { class: "num", "data-testid": "waiting-" + q.queue, text: q.waiting }),
        el("td", { class: "num", text: q.waiting ? seconds(q.longest_wait_s) : "—" }), el("td", { class: "num", text: q.available }),
        el("td", { class: "num", text: q.members }), el("td", { class: "num", text: q.reserved }), el("td", { class: "num", text: q.assigned }),
        el("td", { class: "num", text: q.wrapping }), el("td", { text: sl })));
    }
    if (!rows.childElementCount) rows.append(el("tr", {}, el("td", { colspan: 9, class: "muted", text: "No queues in the active program." })));
    const holding = {};
    for (const t of [...(reserved.tasks || []), ...(assigned.tasks || []), ...(wrapping.tasks || [])]) {
      if (t.worker_id) (holding[t.worker_id] = holding[t.worker_id] || []).push(t);
    }
    const wr = $("live-workers");
    wr.replaceChildren();
    for (const w of ws.workers || []) {
      const tasks = (holding[w.id] || []).map((t) => t.status + " " + (t.channel || "") + " task in " + (t.queue || t.workflow) + " (" + t.id.slice(-8) + ")");
      wr.append(el("tr", {}, el("th", { scope: "row", text: w.name ? w.name + " (" + w.id + ")" : w.id }),
        el("td", { class: "activity-" + w.activity, text: w.activity }), el("td", { text: tasks.join("; ") || "—" })));
    }
    $("live-time").textContent = "Updated " + new Date().toLocaleTimeString();
  }

  // ---- conversations -----------------------------------------------------------------

  async function searchConversations(more) {
    const q = new URLSearchParams({ newest: "true", limit: "25" });
    for (const [k, id] of [["address", "c-address"], ["contact", "c-contact"], ["channel", "c-channel"], ["status", "c-status"]]) {
      const v = $(id).value.trim();
      if (v) q.set(k, v);
    }
    if (more && convNext) q.set("after", convNext);
    const data = await api("GET", "conversations?" + q);
    const rows = $("conv-rows");
    if (!more) rows.replaceChildren();
    for (const c of data.conversations || []) {
      rows.append(el("tr", { class: c.id === selectedConv ? "selected" : "" },
        el("td", {}, el("button", { type: "button", class: "link mono", "data-conversation": c.id, onclick: () => openTranscript(c.id) }, c.id)),
        el("td", { text: c.channel + (c.instance && c.instance !== "default" ? "/" + c.instance : "") }),
        el("td", { text: c.status }), el("td", { text: when(c.updated_at) })));
    }
    if (!rows.childElementCount) rows.append(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "No conversation matches." })));
    convNext = data.next || "";
    $("conv-more").hidden = !convNext;
  }

  async function openTranscript(id) {
    selectedConv = id;
    for (const b of document.querySelectorAll("#conv-rows tr")) {
      b.className = b.querySelector("[data-conversation='" + CSS.escape(id) + "']") ? "selected" : "";
    }
    const list = $("transcript");
    list.replaceChildren();
    const conv = await api("GET", "conversations/" + enc(id));
    let contact = null;
    try { contact = await api("GET", "contacts/" + enc(conv.contact_id)); } catch (e) { contact = null; }
    $("transcript-title").textContent = "Transcript: " + (contact && contact.name ? contact.name : conv.contact_id) + " on " + conv.channel;
    let after = "";
    for (let page = 0; page < 20; page++) {
      const data = await api("GET", "conversations/" + enc(id) + "/messages?limit=1000" + (after ? "&after=" + enc(after) : ""));
      for (const m of data.messages || []) {
        let who = m.direction === "in" ? "customer" : "flow";
        if (m.direction === "out" && m.payload && m.payload.agent) who = "agent " + m.payload.agent;
        list.append(el("li", { class: "msg " + m.direction },
          el("div", { class: "meta", text: who + " · " + when(m.created_at) + " · " + m.connector + "/" + m.instance }),
          el("div", { class: "text", text: m.text || "(no text)" })));
      }
      after = data.next || "";
      if (!after) break;
    }
    if (!list.childElementCount) list.append(el("li", { class: "muted", text: "No messages." }));
  }

  // ---- dead letters --------------------------------------------------------------------

  async function loadDeadLetters(more) {
    const data = await api("GET", "dead-letters?limit=50" + (more && deadNext ? "&after=" + enc(deadNext) : ""));
    const rows = $("dead-rows");
    if (!more) rows.replaceChildren();
    for (const e of data.dead_letters || []) {
      rows.append(el("tr", { "data-effect": e.id },
        el("td", { class: "mono", text: e.id }), el("td", { text: e.kind }), el("td", { class: "num", text: e.attempts }),
        el("td", { class: "small", text: e.last_error || "" }), el("td", { text: when(e.created_at) }),
        el("td", { class: "actions" },
          el("button", { type: "button", "data-testid": "retry-" + e.id, "aria-label": "Retry " + e.id, onclick: () => retry(e.id) }, "Retry"),
          el("button", { type: "button", class: "danger", "aria-label": "Discard " + e.id, onclick: () => discard(e.id) }, "Discard"))));
    }
    if (!rows.childElementCount) rows.append(el("tr", {}, el("td", { colspan: 6, class: "muted", "data-testid": "dead-empty", text: "No dead letters." })));
    deadNext = data.next || "";
    $("dead-more").hidden = !deadNext;
  }

  async function retry(id) {
    try {
      await api("POST", "dead-letters/" + enc(id) + "/retry");
      notice("Effect " + id + " is back in the outbox for one more attempt.");
      await loadDeadLetters(false);
    } catch (e) {
      showError("Retrying", e);
    }
  }

  async function discard(id) {
    if (!confirm("Discard effect " + id + " for good?")) return;
    try {
      await api("DELETE", "dead-letters/" + enc(id));
      notice("Effect " + id + " discarded.");
      await loadDeadLetters(false);
    } catch (e) {
      showError("Discarding", e);
    }
  }

  // ---- events ------------------------------------------------------------------------------

  async function loadEvents(more) {
    const q = new URLSearchParams({ limit: "50", newest: "true" });
    if ($("ev-worker").value.trim()) q.set("worker", $("ev-worker").value.trim());
    if ($("ev-task").value.trim()) q.set("task", $("ev-task").value.trim());
    if (more && evNext) q.set("after", evNext);
    const data = await api("GET", "router/events?" + q);
    const rows = $("ev-rows");
    rows.replaceChildren();
    for (const e of data.events || []) {
      rows.append(el("tr", {}, el("td", { class: "num", text: e.seq }), el("td", { text: when(e.time) }), el("td", { text: e.type }),
        el("td", { class: "mono small", text: e.task_id || "" }), el("td", { text: e.worker_id || "" }), el("td", { text: e.queue || "" }),
        el("td", { class: "mono small", text: e.data ? JSON.stringify(e.data) : "" })));
    }
    if (!rows.childElementCount) rows.append(el("tr", {}, el("td", { colspan: 7, class: "muted", text: "No events." })));
    evNext = data.next || "";
    $("ev-more").hidden = !evNext;
  }

  // ---- start ---------------------------------------------------------------------------------

  function start() {
    for (const ch of CHANNELS) $("c-channel").append(el("option", { value: ch, text: ch }));
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const t = $("signin-token").value.trim();
      if (!t) { showError("Paste an admin token"); $("signin-token").focus(); return; }
      signIn(t);
    });
    $("signout").addEventListener("click", () => signOut());
    $("error-close").addEventListener("click", clearError);
    for (const b of document.querySelectorAll("[role=tab]")) {
      b.addEventListener("click", () => show(b.dataset.tab));
      b.addEventListener("keydown", onTabKey);
    }
    $("deploy-form").addEventListener("submit", (ev) => deploy(ev).catch((e) => showError("Deploying", e)));
    $("worker-form").addEventListener("submit", saveWorker);
    $("w-cancel").addEventListener("click", resetWorkerForm);
    $("conv-form").addEventListener("submit", (ev) => { ev.preventDefault(); searchConversations(false).catch((e) => showError("Searching", e)); });
    $("conv-more").addEventListener("click", () => searchConversations(true).catch((e) => showError("Searching", e)));
    $("dead-more").addEventListener("click", () => loadDeadLetters(true).catch((e) => showError("Loading dead letters", e)));
    $("ev-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadEvents(false).catch((e) => showError("Loading events", e)); });
    $("ev-more").addEventListener("click", () => loadEvents(true).catch((e) => showError("Loading events", e)));
    document.addEventListener("visibilitychange", () => { if (!document.hidden && token) tick(); });
    let saved = "";
    try { saved = sessionStorage.getItem(STORAGE_KEY) || ""; } catch (e) { saved = ""; }
    if (saved) signIn(saved);
    else showSignIn();
  }

  start();
})();
