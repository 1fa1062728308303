/* hwpass web UI: reads the hwpassd API (/v1/...) and renders each section
 * with one innerHTML assignment built from a string, so a host with
 * thousands of devices lays out once per section. Buttons act through one
 * delegated click handler. No framework, no build step, no external URL.
 * A cluster's controller (GET /v1/daemon says which) gets its hosts instead
 * of one host's readiness and USB, the devices of the host chosen, and the
 * cluster's VMs: where each is placed, power on and off, and why a VM can or
 * cannot go to each host (explain). */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || one + "s"}`;

  /* ---- the API --------------------------------------------------------- */

  const TOKEN_KEY = "hwpass.token";

  class ApiError extends Error {
    constructor(status, data) {
      const e = (data && data.error) || {};
      super(e.message || (typeof data === "string" && data.trim()) || `the server answered ${status}`);
      this.status = status;
      this.code = e.code;
      this.detail = e.detail;
    }
  }

  let loginWait = null;

  /* Asks for a token once, however many requests were refused meanwhile. */
  function login(message) {
    if (!loginWait) {
      loginWait = new Promise((resolve) => {
        const dlg = $("login-dialog");
        $("login-msg").textContent = message || "";
        $("login-form").onsubmit = (ev) => {
          ev.preventDefault();
          sessionStorage.setItem(TOKEN_KEY, $("login-token").value.trim());
          $("login-token").value = "";
          dlg.close();
          loginWait = null;
          resolve();
        };
        dlg.showModal();
      });
    }
    return loginWait;
  }

  async function api(method, path, body) {
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, {
      method, headers, cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const type = r.headers.get("Content-Type") || "";
    const data = type.startsWith("application/json") ? await r.json().catch(() => null) : await r.text();
    if (r.status === 401) {
      if (token) sessionStorage.removeItem(TOKEN_KEY);
      await login(token ? "That token was refused." : "");
      return api(method, path, body);
    }
    if (!r.ok) throw new ApiError(r.status, data);
    return data;
  }

  /* ---- state and loading ----------------------------------------------- */

  const state = {
    host: null, devices: null, missing: [], usb: null, vms: null, events: null, byAddr: new Map(),
    hosts: null, picked: null, /* a controller's hosts, and the one whose devices are shown */
    ha: null, /* a controller's HA: admission control and each host's failure */
    explain: null, /* a controller's explain of one VM (explainFor) */
  };
  const errors = {};
  let lastEvent = 0; /* the newest event shown */
  const LIVE_MS = 2000; /* how often the page asks what changed */

  /* The sections each kind of daemon serves; the others are hidden. A
   * controller serves no single host's readiness checks or USB; its VMs are
   * the cluster's (renderClusterVms). */
  const SERVES = {
    standalone: ["host", "devices", "usb", "vms", "events"],
    controller: ["hosts", "devices", "vms", "events"],
  };
  let role = "standalone";
  const serves = () => SERVES[role];
  /* What each button needs of the token's role (GET /v1/daemon says which
   * it has; the server checks every request too): the buttons a role
   * cannot use are not offered (style.css), and their clicks do nothing. */
  const NEEDS = { toggle: "admin", maintenance: "admin", label: "operator", start: "operator", stop: "operator" };
  const RANK = { viewer: 0, operator: 1, admin: 2 };
  let access = "admin";
  /* A token limited to VMs only (no hosts) acts on its VMs, never on a device or a host. */
  let vmsOnly = false;
  const HOST_ACTIONS = ["toggle", "maintenance", "label"];
  const allowed = (action) =>
    RANK[access] >= RANK[NEEDS[action] || "viewer"] && !(vmsOnly && HOST_ACTIONS.includes(action));
  /* Sources shown inside another's section; every source a page reads. */
  const PART_OF = { ha: "hosts" };
  const sources = () => [...serves(), ...Object.keys(PART_OF)];

  /* A device route; on a controller it names the host whose device it is. */
  const onHost = (path) => role === "controller" ? `${path}?host=${encodeURIComponent(state.picked)}` : path;

  /* Each source: its path (a function when it depends on the host chosen;
   * null: nothing to fetch yet) and what to keep of its answer. */
  const SOURCES = {
    hosts: ["v1/hosts", (d) => { state.hosts = d.hosts || []; }],
    ha: ["v1/cluster/ha", (d) => { state.ha = d; }],
    host: ["v1/host/check", (d) => { state.host = d; }],
    devices: [() => (role === "controller" && !state.picked ? null : onHost("v1/devices")), (d) => {
      state.devices = d.devices || [];
      state.missing = d.missing_devices || [];
      state.byAddr = new Map(state.devices.map((x) => [x.address, x]));
    }],
    usb: ["v1/usb", (d) => { state.usb = d.controllers || []; }],
    vms: ["v1/vms", (d) => { state.vms = d.vms || []; }],
    events: ["v1/events?limit=200", (d) => {
      state.events = (d.events || []).slice().reverse();
      if (state.events.length) lastEvent = Math.max(lastEvent, state.events[0].id);
    }],
  };
  const RENDER = {
    hosts: renderHosts, ha: renderHa, host: renderHost, devices: renderDevices, usb: renderUsb, vms: renderVms,
    events: renderEvents,
  };

  /* Fetches the named sources this daemon serves together, then renders
   * them (the USB tree shows device owners, so it follows the devices). */
  async function load(wanted) {
    const names = wanted.filter((n) => serves().includes(PART_OF[n] || n));
    await Promise.all(names.map(async (n) => {
      const path = typeof SOURCES[n][0] === "function" ? SOURCES[n][0]() : SOURCES[n][0];
      if (!path) return;
      try {
        SOURCES[n][1](await api("GET", path));
        delete errors[n];
      } catch (e) {
        errors[n] = e.message;
      }
    }));
    const t0 = performance.now();
    const sections = new Set(names);
    if (sections.has("devices") && serves().includes("usb")) sections.add("usb");
    const phases = {};
    for (const n of sections) {
      const t = performance.now();
      RENDER[n]();
      phases[n] = performance.now() - t;
    }
    const t1 = performance.now();
    document.body.getBoundingClientRect(); /* the layout belongs to the render */
    phases.layout = performance.now() - t1;
    return { total: performance.now() - t0, phases };
  }

  function setBody(name, html) {
    const el = $(name + "-body");
    el.classList.remove("loading");
    el.innerHTML = errors[name] ? `<p class="msg error">Cannot load this section: ${esc(errors[name])}</p>` :
      name === "devices" ? html : `<div class="cv">${html}</div>`;
  }

  function flash(text) {
    $("status").textContent = text;
  }

  /* A table's opening: its columns' classes (their widths) and headings, up to <tbody>. */
  function tableStart(cls, cols) {
    return `<table class="${cls}"><colgroup>` + cols.map(([c]) => `<col class="${c}">`).join("") +
      "</colgroup><thead><tr>" + cols.map(([, title]) => `<th scope="col">${title}</th>`).join("") +
      "</tr></thead><tbody>";
  }

  /* ---- a controller's hosts --------------------------------------------- */

  const HOST_STATE = { connected: "ok", disconnected: "warn", failed: "bad", maintenance: "info" };

  function ago(ms) {
    if (ms == null) return "never";
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 120) return `${s} s ago`;
    return s < 7200 ? `${Math.round(s / 60)} min ago` : s < 172800 ? `${Math.round(s / 3600)} h ago` :
      `${Math.round(s / 86400)} days ago`;
  }

  function hostMemory(m) {
    if (!m || m.total_mib == null) return '<span class="muted">not reported</span>';
    const hp = m.hugepages || {};
    return `${esc(memory(m.available_mib))} free of ${esc(memory(m.total_mib))}` +
      (hp.total ? `<small>hugepages of ${esc(hp.size_kib)} kB: ${esc(hp.free)} free of ${esc(hp.total)}</small>` : "");
  }

  /* The host's devices set for passthrough, by vendor:device and label. */
  function hostPools(pools) {
    if (!pools || !pools.length) return '<span class="muted">none set for passthrough</span>';
    return '<ul class="pools">' + pools.map((p) =>
      `<li data-pool="${esc(p.vendor_id)}:${esc(p.device_id)}"><code>${esc(p.vendor_id)}:${esc(p.device_id)}</code>` +
      (p.label ? ` “${esc(p.label)}”` : "") +
      ` <span class="badge ${p.free ? "ok" : ""}">${esc(p.free)}/${esc(p.total)} free</span></li>`).join("") + "</ul>";
  }

  function renderHosts() {
    const hosts = state.hosts;
    if (!hosts) return setBody("hosts", "");
    let html = tableStart("hosts", [["c-hname", "Host"], ["c-hstate", "State"], ["c-hbeat", "Last heartbeat"],
      ["c-hmem", "Memory"], ["c-hpools", "Devices set for passthrough"], ["c-hdevs", "PCI devices"],
      ["c-hmaint", "Maintenance"]]);
    const counts = {};
    for (const h of hosts) {
      const n = esc(h.name), picked = h.name === state.picked;
      counts[h.state] = (counts[h.state] || 0) + 1;
      html += `<tr data-host="${n}"${picked ? ' class="picked"' : ""}><td>` +
        `<button class="host-pick" data-action="pick" aria-pressed="${picked}" aria-label="Devices of ${n}">` +
        `${n}</button>` +
        (h.version ? `<small>hwpass ${esc(h.version)}</small>` : "") + "</td>" +
        `<td><span class="badge ${HOST_STATE[h.state] || ""}">${esc(h.state)}</span>` +
        (h.state === "connected" && !h.ready ? "<small>not ready yet: reconciling</small>" : "") + "</td>" +
        `<td>${ago(h.heartbeat_age_ms)}</td><td>${hostMemory(h.memory)}</td><td>${hostPools(h.pools)}</td>` +
        `<td>${esc(h.devices)}</td><td><button class="small" data-action="maintenance" ` +
        `aria-pressed="${!!h.maintenance}" aria-label="Maintenance of ${n}">` +
        `${h.maintenance ? "Exit maintenance" : "Enter maintenance"}</button></td></tr>`;
    }
    html += "</tbody></table>";
    $("hosts-count").textContent = plural(hosts.length, "host") +
      (hosts.length ? ": " + Object.keys(counts).map((k) => `${counts[k]} ${k}`).join(", ") : "");
    /* Read again every LIVE_MS: a host's button that has the focus keeps it. */
    const focused = document.activeElement && document.activeElement.dataset.action === "pick" &&
      document.activeElement.closest("tr").dataset.host;
    setBody("hosts", hosts.length ? html :
      '<p class="muted">No host has joined yet (hwpass cluster token create, then hwpassd --role agent ' +
      "on the host).</p>");
    if (focused) {
      const b = [...$("hosts-body").querySelectorAll("tr[data-host]")].find((r) => r.dataset.host === focused);
      if (b) b.querySelector("button").focus();
    }
  }

  /* HA's admission control, and each host's failure that would leave a
   * protected VM nowhere to restart (GET /v1/cluster/ha). */
  function renderHa() {
    const ha = state.ha, el = $("ha");
    el.hidden = !ha;
    if (!ha) return;
    const bad = (ha.scenarios || []).filter((sc) => !sc.ok);
    el.dataset.ok = String(!!ha.ok);
    let html = ha.tolerate ? `HA keeps room for ${plural(ha.tolerate, "host failure")}: a power-on that breaks that is ` +
      (ha.admission === "warn" ? "started with a warning." : "refused.") :
      "HA's admission control is off (it tolerates 0 host failures).";
    if (!bad.length) {
      html += ` <span class="badge ok">every host's failure survived</span>`;
    } else {
      html += ` <span class="badge bad">${plural(bad.length, "failure")} not survived</span><ul>` + bad.map((sc) =>
        `<li data-failed="${esc(sc.failed.join(","))}">If ${esc(sc.failed.join(" and "))} failed: ` +
        sc.restarts.filter((r) => !r.host).map((r) => `<strong>${esc(r.vm)}</strong> would have nowhere to restart` +
          (r.why ? ` (${esc(r.why)})` : "")).join("; ") + "</li>").join("") + "</ul>";
    }
    el.innerHTML = html;
  }

  /* Maintenance on, or off: the controller's answer, or why it refused
   * (a VM its static entries pin there runs). */
  async function maintenance(name, on) {
    const msg = $("hosts-msg");
    msg.textContent = "";
    msg.className = "msg";
    flash(`${on ? "Entering" : "Leaving"} maintenance on ${name}…`);
    try {
      const doc = await api("PUT", `v1/hosts/${encodeURIComponent(name)}/maintenance`, { maintenance: on });
      const moving = (doc.moving || []).length;
      const text = !on ? `${name} is out of maintenance: it takes VMs again.` :
        `${name} is in maintenance: it takes no new VMs; ` +
        (moving ? `${plural(moving, "VM")} move${moving === 1 ? "s" : ""} to other hosts.` : "it runs none to move.");
      flash(text);
      msg.className = "msg ok";
      msg.textContent = text;
    } catch (e) {
      flash("");
      msg.className = "msg error";
      msg.textContent = `Cannot ${on ? "put" : "take"} ${name} ${on ? "in" : "out of"} maintenance: ${e.message}`;
    }
    load(["hosts", "ha", "vms", "events"]);
  }

  /* Shows the devices of the host chosen; the page's address keeps it for a reload. */
  async function pick(name) {
    state.picked = name;
    history.replaceState(null, "", "?host=" + encodeURIComponent(name));
    renderHosts();
    await load(["devices"]);
    $("devices").scrollIntoView({ block: "start" });
  }

  /* ---- host readiness -------------------------------------------------- */

  const LEVEL = { PASS: "ok", WARN: "warn", FAIL: "bad" };

  function renderHost() {
    const h = state.host;
    if (!h) return setBody("host", "");
    const fails = h.checks.filter((c) => c.level === "FAIL").length;
    $("host-count").textContent = h.passthrough_ready ? "ready for passthrough" : `not ready: ${plural(fails, "check")} failed`;
    $("host-count").className = "count " + (h.passthrough_ready ? "ok" : "bad");
    let html = '<ul class="checks">';
    for (const c of h.checks) {
      html += `<li class="check ${LEVEL[c.level] || ""}" data-check="${esc(c.id)}">` +
        `<span class="badge ${LEVEL[c.level] || ""}">${esc(c.level)}</span>` +
        `<span class="title">${esc(c.title)}</span>` +
        `<span class="detail">${esc(c.message)}</span>` +
        (c.fix ? `<span class="fix"><strong>Fix:</strong> ${esc(c.fix)}</span>` : "") + "</li>";
    }
    setBody("host", html + "</ul>");
  }

  /* ---- devices ---------------------------------------------------------- */

  function deviceText(d) {
    return [d.address, d.vendor_name, d.device_name, d.class_name, d.driver, d.label, d.assigned_vm]
      .join(" ").toLowerCase();
  }

  function stateCell(d) {
    const p = d.passthrough || {};
    let s;
    if (d.health && d.health !== "ok") s = `<span class="badge bad">${esc(d.health)}</span>`;
    else if (p.active) s = '<span class="badge ok">passed through</span>';
    else if (p.desired) s = '<span class="badge warn">pending</span>';
    else s = '<span class="badge">host</span>';
    if (p.reason) s += `<small>${esc(p.reason)}</small>`;
    else if (!p.desired && d.verdict && !d.verdict.capable && d.verdict.reasons.length)
      s += `<small>${esc(d.verdict.reasons[0])}</small>`;
    return s;
  }

  /* A row's buttons find their device by the row's data-addr. Markup is
   * kept lean: a big host has a thousand of these. */
  function deviceRow(d) {
    const a = esc(d.address);
    const desired = !!(d.passthrough && d.passthrough.desired);
    const toggle = d.is_bridge ? '<span class="muted">bridge</span>' :
      `<button class="switch" role="switch" aria-checked="${desired}" data-action="toggle" ` +
      `aria-label="Passthrough ${a}">${desired ? "On" : "Off"}</button>`;
    return `<div class="dev" role="row" data-addr="${a}"><span role="cell" class="addr">${a}</span>` +
      `<span role="cell"><b>${esc(d.device_name || "[unknown device]")}</b>` +
      `<small>${esc(d.vendor_name || d.vendor_id)} · ${esc(d.class_name || d.class)}</small></span>` +
      `<span role="cell">${d.driver ? esc(d.driver) : '<span class="muted">none</span>'}</span>` +
      `<span role="cell">${stateCell(d)}</span><span role="cell">` +
      (d.label ? `<span class="label">${esc(d.label)}</span>` : "") +
      `<button class="small" data-action="label" aria-label="Label ${a}">Edit</button></span>` +
      `<span role="cell">${d.assigned_vm ? `<span class="vm-ref">${esc(d.assigned_vm)}</span>` : ""}</span>` +
      `<span role="cell">${toggle}</span></div>`;
  }

  /* One block per IOMMU group; a block off screen is not laid out
   * (content-visibility), so a thousand groups cost what a screenful does. */
  function renderDevices() {
    const all = state.devices;
    if (role === "controller") {
      $("devices-of").textContent = state.picked ? ` of ${state.picked}` : "";
      if (!state.picked) {
        $("devices-count").textContent = "";
        return setBody("devices", '<p class="muted">Choose a host above to see its devices.</p>');
      }
    }
    if (!all) return setBody("devices", "");
    const q = $("device-filter").value.trim().toLowerCase();
    const groups = new Map();
    for (const d of all) {
      const g = d.iommu_group ?? "none";
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(d);
    }
    const keys = [...groups.keys()].sort((x, y) => (x === "none") - (y === "none") || x - y);
    let html = '<div class="devices" role="table" aria-label="PCI devices by IOMMU group">' +
      '<div class="dev dev-head" role="row"><span role="columnheader">Address</span>' +
      '<span role="columnheader">Device</span><span role="columnheader">Driver</span>' +
      '<span role="columnheader">State</span><span role="columnheader">Label</span>' +
      '<span role="columnheader">Owner</span><span role="columnheader">Passthrough</span></div>';
    let shown = 0, through = 0;
    for (const k of keys) {
      const members = groups.get(k);
      let endpoints = 0;
      for (const d of members) {
        endpoints += !d.is_bridge;
        through += !!(d.passthrough && d.passthrough.active);
      }
      if (q && !members.some((d) => deviceText(d).includes(q))) continue;
      html += `<div class="group" role="rowgroup" data-group="${esc(k)}" ` +
        `style="contain-intrinsic-size: auto ${32 + 46 * members.length}px">` +
        '<div class="group-head" role="row"><span role="rowheader">' +
        (k === "none" ? "No IOMMU group: cannot be passed through" : `IOMMU group ${esc(k)}`) +
        ` <span class="muted">${plural(members.length, "device")}</span>` +
        (k !== "none" && endpoints > 1 ? ' <span class="badge warn">move together</span>' : "") + "</span></div>";
      for (const d of members) html += deviceRow(d);
      html += "</div>";
      shown += members.length;
    }
    html += "</div>";
    if (!shown) html = `<p class="muted">No device matches “${esc(q)}”.</p>`;
    for (const m of state.missing)
      html += `<p class="msg warn">Configured but gone: ${esc(JSON.stringify(m))}</p>`;
    $("devices-count").textContent = `${plural(all.length, "function")} in ${plural(groups.size, "group")}` +
      (through ? `, ${through} passed through` : "") + (q ? ` (${shown} shown)` : "");
    setBody("devices", html);
  }

  /* ---- passthrough: dry run, then apply --------------------------------- */

  let pending = null; /* {address, enabled, plan} */

  function list(title, items, cls) {
    if (!items || !items.length) return "";
    return `<h3>${title}</h3><ul class="${cls}">` + items.map((t) => `<li>${esc(t)}</li>`).join("") + "</ul>";
  }

  function showPlan(plan, message) {
    const p = pending;
    const verb = p.enabled ? "Enable" : "Disable";
    $("plan-title").textContent = `${verb} passthrough: ${p.address}` +
      (role === "controller" ? ` on ${state.picked}` : "");
    let html = "";
    if (role === "controller") {
      /* A controller records the desired state: the host plans and applies it. */
      html += `<p class="hint">The controller records it; ${esc(state.picked)} applies it at its next heartbeat, ` +
        "with the rest of the device's IOMMU group. What the host cannot do shows in the device's state.</p>";
    } else if (plan) {
      html += plan.dry_run ? '<p class="hint">Dry run: nothing has changed yet.</p>' : "";
      if (plan.steps && plan.steps.length) {
        html += '<table class="steps"><thead><tr><th scope="col">Device</th><th scope="col">Driver now</th>' +
          '<th scope="col">Driver after</th><th scope="col">Why</th></tr></thead><tbody>';
        for (const s of plan.steps)
          html += `<tr data-step="${esc(s.address)}"><td><code>${esc(s.address)}</code></td>` +
            `<td>${esc(s.from_driver || "none")}</td><td>${esc(s.to_driver || "none")}</td>` +
            `<td>${s.requested ? "requested" : "same IOMMU group"}</td></tr>`;
        html += "</tbody></table>";
      } else {
        html += '<p class="hint">Nothing to change.</p>';
      }
      if (plan.unchanged && plan.unchanged.length)
        html += `<p class="hint">Unchanged: ${plan.unchanged.map((a) => `<code>${esc(a)}</code>`).join(", ")}</p>`;
      html += list("Warnings", plan.warnings, "warnings") + list("Refusals", plan.refusals, "refusals") +
        list("Errors", plan.errors, "errors");
    }
    $("plan-body").innerHTML = html;
    $("plan-msg").textContent = message || "";
    $("plan-msg").className = "msg error";
    const refused = !!(plan && plan.refusals && plan.refusals.length);
    $("plan-force-row").hidden = !refused;
    if (!refused) $("plan-force").checked = false;
    p.plan = plan;
    updateApply();
    if (!$("plan-dialog").open) $("plan-dialog").showModal();
  }

  function updateApply() {
    const plan = pending && pending.plan;
    const refused = !!(plan && plan.refusals && plan.refusals.length);
    const forced = refused && $("plan-force").checked;
    const ok = role === "controller" || (plan && !(plan.errors && plan.errors.length) && plan.steps &&
      plan.steps.length && (refused ? forced : plan.applicable !== false));
    $("plan-apply").disabled = !ok;
    $("plan-apply").textContent = forced ? "Apply with force" : "Apply";
    $("plan-apply").className = forced ? "danger" : "primary";
  }

  async function toggle(address) {
    const d = state.byAddr.get(address);
    pending = { address, enabled: !(d && d.passthrough && d.passthrough.desired), plan: null };
    $("plan-force").checked = false;
    if (role === "controller") return showPlan(null); /* dry runs are the host's own */
    try {
      showPlan(await api("PUT", `v1/devices/${address}/passthrough`, { enabled: pending.enabled, dry_run: true }));
    } catch (e) {
      showPlan(e.detail || null, e.message);
    }
  }

  async function applyPlan() {
    const p = pending;
    $("plan-apply").disabled = true;
    $("plan-msg").textContent = "Applying…";
    $("plan-msg").className = "msg";
    try {
      const body = { enabled: p.enabled };
      if ($("plan-force").checked) body.force = true;
      const plan = await api("PUT", onHost(`v1/devices/${p.address}/passthrough`), body);
      $("plan-dialog").close();
      if (role === "controller")
        flash(`Passthrough ${p.enabled ? "asked for" : "no longer asked for"}: ${p.address} on ${state.picked}`);
      else
        flash(`Passthrough ${p.enabled ? "enabled" : "disabled"} for ${p.address}` +
          (plan && plan.steps ? ` (${plural(plan.steps.length, "device")})` : ""));
      load(["hosts", "devices", "events"]);
    } catch (e) {
      showPlan(e.detail || p.plan, e.message);
    }
  }

  /* ---- labels ---------------------------------------------------------- */

  let labelAddr = null;

  function editLabel(address) {
    const d = state.byAddr.get(address);
    labelAddr = address;
    $("label-addr").textContent = address;
    $("label-input").value = (d && d.label) || "";
    $("label-msg").textContent = "";
    $("label-dialog").showModal();
    $("label-input").focus();
  }

  async function saveLabel(text) {
    const label = text.trim() || null;
    $("label-msg").textContent = "Saving…";
    $("label-msg").className = "msg";
    try {
      await api("PUT", onHost(`v1/devices/${labelAddr}/label`), { label });
      $("label-dialog").close();
      flash(label ? `Label of ${labelAddr}: ${label}` : `Label of ${labelAddr} removed`);
      await load(["hosts", "devices", "events"]);
    } catch (e) {
      $("label-msg").textContent = e.message;
      $("label-msg").className = "msg error";
    }
  }

  /* ---- USB -------------------------------------------------------------- */

  function speed(mbps) {
    if (!mbps) return "?";
    const t = String(mbps);
    return esc(t.length > 3 && t.endsWith("000") ? `${t.slice(0, -3)} Gb/s` : `${t} Mb/s`);
  }

  function usbTree(byParent, parent) {
    const kids = byParent.get(parent);
    if (!kids) return "";
    let html = '<ul class="usb-tree">';
    for (const u of kids) {
      const name = [u.manufacturer, u.product].filter(Boolean).join(" ") || "[no name]";
      html += `<li data-usb="${esc(u.name)}"><span class="port">port ${esc(u.port_path)}</span> ` +
        `<code>${esc(u.vendor_id)}:${esc(u.product_id)}</code> ${esc(name)}` +
        ` <small>${speed(u.speed)}${u.hub_ports ? `, hub with ${esc(u.hub_ports)} ports` : ""}` +
        `${u.serial ? `, serial ${esc(u.serial)}` : ""}${u.drivers.length ? " · " + esc(u.drivers.join(", ")) : ""}` +
        "</small>" + usbTree(byParent, u.name) + "</li>";
    }
    return html + "</ul>";
  }

  function renderUsb() {
    const ctls = state.usb;
    if (!ctls) return setBody("usb", "");
    let html = "", ndev = 0;
    for (const c of ctls) {
      const owner = c.address && state.byAddr.get(c.address);
      html += `<article class="usb-ctl" data-controller="${esc(c.address || "none")}"><h3>` +
        (c.address ? `<code>${esc(c.address)}</code> ${esc(c.name || "USB controller")}` : "Not on PCI") +
        ` <small>${esc(c.driver || "no driver")}${c.iommu_group != null ? ` · IOMMU group ${esc(c.iommu_group)}` : ""}</small>` +
        (owner && owner.assigned_vm ? ` <span class="vm-ref">${esc(owner.assigned_vm)}</span>` : "") + "</h3>";
      if (!c.buses.length) html += '<p class="muted">No USB bus: the controller has no host driver bound.</p>';
      for (const b of c.buses) {
        const byParent = new Map();
        for (const u of b.devices) {
          if (!byParent.has(u.parent)) byParent.set(u.parent, []);
          byParent.get(u.parent).push(u);
        }
        ndev += b.devices.length;
        html += `<div class="usb-bus"><h4>Bus ${esc(b.bus)}: USB ${esc(b.usb_version)}, ${speed(b.speed)}, ` +
          `${plural(b.ports, "port")}</h4>` +
          (b.devices.length ? usbTree(byParent, `usb${b.bus}`) : '<p class="muted">Nothing plugged in.</p>') + "</div>";
      }
      html += "</article>";
    }
    $("usb-count").textContent = `${plural(ctls.length, "controller")}, ${plural(ndev, "device")}`;
    setBody("usb", html || '<p class="muted">No USB controllers on this host.</p>');
  }

  /* ---- VMs -------------------------------------------------------------- */

  function vmDevices(vm) {
    const items = [];
    for (const p of vm.pci || []) {
      let t = p.kind === "static" ? `<code>${esc(p.address)}</code>` :
        `any of <code>${esc((p.allowed || []).join(", "))}</code>`;
      if (p.label) t += ` “${esc(p.label)}”`;
      if (p.primary_display) t += " (display)";
      items.push(`<li>pci${esc(p.index)}: ${t}</li>`);
    }
    for (const u of vm.usb || []) {
      const t = u.kind === "port" ? `port ${esc(u.bus)}-${esc(u.port)}` :
        `<code>${esc(u.vendor_id)}:${esc(u.product_id)}</code>${u.serial ? ` serial ${esc(u.serial)}` : ""}`;
      items.push(`<li>usb${esc(u.index)}: ${t}</li>`);
    }
    return items.length ? `<ul class="vm-devs">${items.join("")}</ul>` : '<span class="muted">none</span>';
  }

  function memory(mib) {
    return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
  }

  function renderVms() {
    if (role === "controller") return renderClusterVms();
    const vms = state.vms;
    if (!vms) return setBody("vms", "");
    let html = tableStart("vms", [["c-vname", "Name"], ["c-vstate", "State"], ["c-vres", "Resources"],
      ["c-vdevs", "Devices"], ["c-vact", "Actions"]]);
    let running = 0;
    for (const vm of vms) {
      const n = esc(vm.name), off = vm.state === "off";
      running += vm.state === "running";
      html += `<tr data-vm="${n}"><td><strong>${n}</strong>${vm.damaged ? `<small class="error">${esc(vm.damaged)}</small>` : ""}</td>` +
        `<td><span class="badge ${vm.state === "running" ? "ok" : off ? "" : "warn"}">${esc(vm.state)}</span></td>` +
        `<td>${esc(vm.vcpus)} vCPU · ${vm.memory_mib ? esc(memory(vm.memory_mib)) : "?"} · ${esc(vm.firmware)}` +
        (vm.autostart ? `<small class="autostart">starts with the host: order ${esc(vm.autostart.order)}` +
          (vm.autostart.delay ? `, then ${esc(vm.autostart.delay)} s` : "") + "</small>" : "") + "</td>" +
        `<td>${vmDevices(vm)}</td><td class="actions">` +
        `<button data-action="start" aria-label="Start ${n}"${off ? "" : " disabled"}>Start</button>` +
        `<button data-action="stop" aria-label="Stop ${n}"${off ? " disabled" : ""}>Stop</button>` +
        `<button data-action="log" aria-label="Console log of ${n}">Console log</button></td></tr>`;
    }
    html += "</tbody></table>";
    $("vms-count").textContent = `${plural(vms.length, "VM")}${running ? `, ${running} running` : ""}`;
    setBody("vms", vms.length ? html : '<p class="muted">No VMs defined (hwpass vm create NAME).</p>');
  }

  /* Start or stop; on a controller, power on (a placement) or off, whose
   * answer (or refusal, with each host's verdict) is shown above the VMs. */
  async function vmAction(name, action) {
    const cluster = role === "controller";
    const verb = cluster ? (action === "start" ? "Powering on" : "Powering off") :
      action === "start" ? "Starting" : "Stopping";
    $("vms-msg").textContent = "";
    $("vms-msg").className = "msg";
    if (cluster) showRefusal(null);
    flash(`${verb} ${name}…`);
    try {
      const doc = await api("POST", `v1/vms/${name}/${action}`, action === "stop" ? {} : undefined);
      if (cluster) {
        const text = powerDone(name, action, doc);
        flash(text);
        $("vms-msg").className = "msg ok";
        $("vms-msg").textContent = text;
      } else {
        flash(`${name} ${action === "start" ? "started" : "stopped"}`);
      }
    } catch (e) {
      flash("");
      $("vms-msg").className = "msg error";
      $("vms-msg").textContent = `Cannot ${cluster ? (action === "start" ? "power on" : "power off") : action} ` +
        `${name}: ${e.message}`;
      if (cluster && e.detail && Array.isArray(e.detail.hosts)) showRefusal(e.detail.hosts);
    }
    load(["hosts", "ha", "vms", "devices", "events"]);
  }

  /* ---- a controller's VMs ----------------------------------------------- */

  /* The VM whose placement is shown, and its row as it was when that was asked. */
  let explainFor = null, explainError = null, explainSeen = "";
  const vmKey = (vm) => vm ? [vm.host, vm.desired, vm.state, vm.epoch].join() : "";

  /* What a cluster VM asks for: each entry, with its count. */
  function clusterVmAsks(vm) {
    const items = [];
    for (const p of vm.pci || []) {
      const t = p.kind === "static" ? `<code>${esc(p.address)}</code>` :
        `${p.count > 1 ? `${esc(p.count)} × ` : ""}any of <code>${esc((p.allowed || []).join(", "))}</code>`;
      items.push(`<li>pci${esc(p.index)}: ${t}${p.label ? ` “${esc(p.label)}”` : ""}</li>`);
    }
    for (const u of vm.usb || [])
      items.push(`<li>usb${esc(u.index)}: ` + (u.kind === "port" ? `port ${esc(u.bus)}-${esc(u.port)}` :
        `<code>${esc(u.vendor_id)}:${esc(u.product_id)}</code>`) + "</li>");
    return items.length ? `<small>asks for</small><ul class="vm-devs">${items.join("")}</ul>` : "";
  }

  /* Where the last power-on's starts failed, and why, each host's in turn
   * (GET /v1/vms' start_failures, kept until the next power-on or a power-off):
   * a row of its own under the VM's, as long as the hosts' errors. */
  function startFailures(vm, n) {
    const failed = vm.start_failures || [];
    if (!failed.length) return "";
    return `<tr class="vm-failures" data-failures="${n}"><td colspan="7"><ul class="errors">` +
      failed.map((f) => `<li data-host="${esc(f.host)}">Start failed on <strong>${esc(f.host)}</strong> ` +
        `(epoch ${esc(f.epoch)}): <span class="error-text">${esc(f.error)}</span></li>`).join("") + "</ul></td></tr>";
  }

  function clusterVmRow(vm) {
    const n = esc(vm.name), on = vm.desired === "on", held = vm.held_devices || [];
    const failures = startFailures(vm, n);
    let note = "";
    if (on && vm.state === "off") note = vm.host ? `${esc(vm.host)} has not reported it running yet` : "";
    else if (!on && vm.state !== "off") note = "powering off";
    const cls = [vm.name === explainFor ? "picked" : "", failures ? "has-failures" : ""].filter(Boolean).join(" ");
    return `<tr data-vm="${n}"${cls ? ` class="${cls}"` : ""}><td><strong>${n}</strong></td>` +
      `<td class="vm-host">${vm.host ? esc(vm.host) : '<span class="muted">not placed</span>'}</td>` +
      `<td class="vm-desired"><span class="badge ${on ? "info" : ""}">${esc(vm.desired)}</span></td>` +
      `<td class="vm-state"><span class="badge ${vm.state === "running" ? "ok" : vm.state === "off" ? "" : "warn"}">` +
      `${esc(vm.state)}</span>${note ? `<small>${note}</small>` : ""}</td>` +
      `<td class="vm-epoch">${esc(vm.epoch)}</td><td class="vm-held">` +
      (held.length ? '<ul class="held">' + held.map((a) => `<li><code>${esc(a)}</code></li>`).join("") + "</ul>" :
        '<span class="muted">holds none</span>') + clusterVmAsks(vm) + "</td><td class=\"actions\">" +
      `<button data-action="start" aria-label="Power on ${n}"${on ? " disabled" : ""}>Power on</button>` +
      `<button data-action="stop" aria-label="Power off ${n}"${on ? "" : " disabled"}>Power off</button>` +
      `<button data-action="explain" aria-pressed="${vm.name === explainFor}" aria-label="Explain the placement of ${n}">` +
      "Explain</button></td></tr>" + failures;
  }

  /* Host by host, why a VM can or cannot go there: an explain's "hosts", or a
   * refused power-on's. A message names its host first, and its verdict: shown once. */
  function verdicts(hosts, winner, candidates) {
    if (!hosts || !hosts.length) return '<p class="muted">No host has joined: nowhere to place it.</p>';
    const rank = new Map((candidates || []).map((h, i) => [h, i + 1]));
    let html = tableStart("verdicts", [["c-xhost", "Host"], ["c-xverdict", "Verdict"], ["c-xmsg", "Why"],
      ["c-xdevs", "Devices it would get"]]);
    for (const h of hosts) {
      const wins = winner != null && h.host === winner, devs = h.devices || [];
      let msg = String(h.message ?? "");
      if (msg.startsWith(h.host + ": ")) msg = msg.slice(h.host.length + 2);
      if (h.fits && msg.startsWith("fits: ")) msg = msg.slice(6);
      html += `<tr data-verdict="${esc(h.host)}"${wins ? ' class="winner"' : ""}><td><strong>${esc(h.host)}</strong></td>` +
        `<td><span class="badge ${h.fits ? "ok" : "bad"}">${esc(h.fits ? "fits" : h.reason)}</span>` +
        (wins ? '<span class="badge info">would win</span>' :
          rank.has(h.host) ? `<small>candidate ${rank.get(h.host)}</small>` : "") + "</td>" +
        `<td>${esc(msg)}</td><td>` +
        (devs.length ? devs.map((d) => `<code>${esc(d.address)}</code> <span class="muted">${esc(d.entry)}</span>`)
          .join("<br>") : '<span class="muted">none</span>') + "</td></tr>";
    }
    return html + "</tbody></table>";
  }

  function explainPanel() {
    if (!explainFor) return "";
    const x = state.explain && state.explain.vm === explainFor ? state.explain : null, n = esc(explainFor);
    const vm = (state.vms || []).find((v) => v.name === explainFor);
    let html = `<div class="explain" data-explain="${n}"><h3>Where ${n} can run` +
      (x ? `<small>policy ${esc(x.policy)} · reported ${esc(x.state)}` +
        (vm && vm.host ? ` · placed on ${esc(vm.host)}, epoch ${esc(vm.epoch)}` : "") + "</small>" : "") +
      `<button class="small" data-action="explain-close" aria-label="Close the placement of ${n}">Close</button></h3>`;
    if (explainError) html += `<p class="msg error">Cannot explain ${n}: ${esc(explainError)}</p>`;
    else if (!x) html += '<p class="muted">Asking the controller…</p>';
    else html += `<p class="why ${x.winner ? "ok" : "bad"}">${esc(x.why)}</p>` + verdicts(x.hosts, x.winner, x.candidates);
    return html + "</div>";
  }

  /* The VMs' buttons are drawn again at every read: the one with the focus keeps it. */
  function renderClusterVms() {
    const vms = state.vms;
    if (!vms) return setBody("vms", "");
    const a = document.activeElement, row = a && a.dataset.action && a.closest("#vms-body tr[data-vm]");
    const focused = row && [row.dataset.vm, a.dataset.action];
    let html = tableStart("vms cluster-vms", [["c-vname", "Name"], ["c-vhost", "Host"], ["c-vdes", "Desired"],
      ["c-vrep", "Reported"], ["c-vepoch", "Epoch"], ["c-vdevs", "Devices"], ["c-vact", "Actions"]]);
    let on = 0, placed = 0;
    for (const vm of vms) {
      on += vm.desired === "on";
      placed += !!vm.host;
      html += clusterVmRow(vm);
    }
    html += "</tbody></table>";
    $("vms-count").textContent = plural(vms.length, "VM") + (vms.length ? `: ${on} on, ${vms.length - placed} not placed` : "");
    setBody("vms", (vms.length ? html : '<p class="muted">No VMs defined (hwpass vm define FILE, through the controller).</p>') +
      explainPanel());
    if (focused) {
      const r = [...$("vms-body").querySelectorAll("tr[data-vm]")].find((e) => e.dataset.vm === focused[0]);
      const b = r && r.querySelector(`button[data-action="${focused[1]}"]`);
      if (b && !b.disabled) b.focus();
    }
    /* The explained VM was placed, reported or stopped meanwhile: asked again. */
    if (explainFor && vmKey(vms.find((v) => v.name === explainFor)) !== explainSeen) explainVm(explainFor);
  }

  /* Asks the controller where the VM could go, and shows it under the VMs. */
  async function explainVm(name) {
    if (explainFor !== name) state.explain = null;
    explainFor = name;
    explainError = null;
    explainSeen = vmKey((state.vms || []).find((v) => v.name === name));
    renderClusterVms();
    try {
      const x = await api("GET", `v1/vms/${name}/explain`);
      if (explainFor === name) state.explain = x;
    } catch (e) {
      if (explainFor === name) explainError = e.message;
    }
    if (explainFor === name) renderClusterVms();
  }

  function closeExplain() {
    explainFor = null;
    state.explain = null;
    renderClusterVms();
  }

  function showRefusal(hosts) {
    $("vms-refusal").hidden = !hosts;
    $("vms-refusal").innerHTML = hosts ? '<p class="hint">Host by host:</p>' + verdicts(hosts, null, []) : "";
  }

  /* What a power-on placed (host, epoch, devices) or whom a power-off was asked of. */
  function powerDone(name, action, doc) {
    if (action === "start") {
      const devs = (doc.devices || []).map((d) => d.address);
      return `${name} powered on: placed on ${doc.host} (epoch ${doc.epoch})` +
        (devs.length ? ` with ${devs.join(", ")}` : "");
    }
    return doc.host ? `${name}: power off asked of ${doc.host}` : `${name} powered off`;
  }

  let logVm = null, logTimer = 0;

  /* The console log; while the VM runs and the dialog is open it is read
   * again every LIVE_MS, staying at the bottom if the reader is there. */
  async function showLog(name) {
    clearTimeout(logTimer);
    logVm = name;
    $("log-title").textContent = `Console log: ${name}`;
    if (!$("log-dialog").open) {
      $("log-msg").textContent = "";
      $("log-dialog").showModal();
    }
    const pre = $("log-text");
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    try {
      const text = await api("GET", `v1/vms/${name}/log`);
      if (pre.textContent !== (text || "")) pre.textContent = text || "";
      $("log-msg").className = "msg";
      $("log-msg").textContent = text ? "" : "No console output: the VM has not run since the host started.";
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    } catch (e) {
      pre.textContent = "";
      $("log-msg").textContent = e.message;
      $("log-msg").className = "msg error";
    }
    const vm = (state.vms || []).find((v) => v.name === name);
    if ($("log-dialog").open && logVm === name && vm && vm.state !== "off")
      logTimer = setTimeout(() => showLog(name), LIVE_MS);
  }

  /* ---- events ----------------------------------------------------------- */

  function when(at) {
    const d = new Date(at * 1000), p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  function renderEvents() {
    const ev = state.events;
    if (!ev) return setBody("events", "");
    let html = tableStart("events", [["c-when", "When"], ["c-actor", "Who"], ["c-kind", "What"],
      ["c-subject", "Subject"], ["c-msg", "Detail"]]);
    for (const e of ev)
      html += `<tr data-event="${esc(e.id)}"><td>${when(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.kind)}</td>` +
        `<td><code>${esc(e.subject)}</code></td><td>${esc(e.message)}</td></tr>`;
    html += "</tbody></table>";
    $("events-count").textContent = ev.length ? `newest first, ${plural(ev.length, "event")}` : "";
    setBody("events", ev.length ? html : '<p class="muted">No events yet.</p>');
  }

  /* ---- wiring ----------------------------------------------------------- */

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.disabled || !allowed(b.dataset.action)) return;
    const action = b.dataset.action;
    const row = b.closest("[data-addr], [data-vm], [data-host]");
    const addr = row && row.dataset.addr, vm = row && row.dataset.vm;
    if (action === "pick") pick(row.dataset.host);
    else if (action === "maintenance") maintenance(row.dataset.host, b.getAttribute("aria-pressed") !== "true");
    else if (action === "toggle") toggle(addr);
    else if (action === "label") editLabel(addr);
    else if (action === "start" || action === "stop") vmAction(vm, action);
    else if (action === "log") showLog(vm);
    else if (action === "explain") explainFor === vm ? closeExplain() : explainVm(vm);
    else if (action === "explain-close") closeExplain();
  });
  $("plan-cancel").onclick = () => $("plan-dialog").close();
  $("plan-apply").onclick = applyPlan;
  $("plan-force").onchange = updateApply;
  $("label-form").onsubmit = (ev) => { ev.preventDefault(); saveLabel($("label-input").value); };
  $("label-remove").onclick = () => saveLabel("");
  $("label-cancel").onclick = () => $("label-dialog").close();
  $("log-close").onclick = () => $("log-dialog").close();
  $("log-dialog").addEventListener("close", () => clearTimeout(logTimer));
  $("log-reload").onclick = () => showLog(logVm);
  $("refresh").onclick = () => load(sources()).then(() => flash("Refreshed"));
  let filterTimer = 0;
  $("device-filter").oninput = () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(renderDevices, 80);
  };

  /* ---- live: what others change shows up without a reload ------------- */

  /* Which sections an event touches. */
  function touched(kind) {
    if (kind.startsWith("vm-")) return ["vms", "devices"];
    if (kind.startsWith("passthrough-") || kind.startsWith("device-")) return ["devices"];
    if (kind === "daemon-started") return ["host", "devices", "vms"];
    return [];
  }


  /* Asks for the events after the newest one shown, every LIVE_MS while the
   * page is visible; new ones are added to the list and the sections they
   * touch are read again. One request at a time. */
  async function follow() {
    if (!document.hidden) {
      /* A host's heartbeats are no events: a controller reads its hosts, and
       * the states its VMs are reported in, at every tick. */
      const names = new Set(role === "controller" ? ["hosts", "ha", "vms"] : []);
      try {
        const d = state.events && await api("GET", `v1/events?since=${lastEvent}&limit=200`);
        const fresh = d ? (d.events || []).filter((e) => e.id > lastEvent) : [];
        if (fresh.length) {
          lastEvent = fresh[fresh.length - 1].id;
          state.events = fresh.slice().reverse().concat(state.events).slice(0, 200);
          for (const e of fresh) for (const n of touched(e.kind)) names.add(n);
          renderEvents();
        }
      } catch (e) {
        /* The server may be restarting: try again at the next tick. */
      }
      if (names.size) await load([...names]);
    }
    setTimeout(follow, LIVE_MS);
  }

  /* Asks which daemon this is and what this token may do there, shows the
   * sections it serves and hides the others, and loads them. A hwpassd from
   * before /v1/daemon is a host's own, and knew no roles. */
  async function start() {
    try {
      const d = await api("GET", "v1/daemon");
      if (d.role === "controller") role = "controller";
      if (d.caller && d.caller.role in RANK) access = d.caller.role;
      vmsOnly = !!(d.caller && d.caller.vms && !d.caller.hosts);
    } catch (e) {
      /* standalone */
    }
    document.documentElement.dataset.access = access;
    if (vmsOnly) document.documentElement.dataset.limits = "vms";
    if (role === "controller") {
      state.picked = new URLSearchParams(location.search).get("host");
      $("devices-how").textContent = "The host plans and applies what is set here, at its next heartbeat.";
      $("vms-how").hidden = false;
      /* The cluster's VMs next to its hosts, above one host's long device list. */
      $("hosts").after($("vms"));
      document.querySelector('nav a[href="#hosts"]').after(document.querySelector('nav a[href="#vms"]'));
    }
    for (const id of new Set([...SERVES.standalone, ...SERVES.controller])) {
      $(id).hidden = !serves().includes(id);
      document.querySelector(`nav a[href="#${id}"]`).hidden = $(id).hidden;
    }
    return load(sources());
  }

  /* The first load, timed: render_ms is building and laying out every
   * section from the fetched data; ready_ms is from navigation start. */
  start().then((render) => {
    window.hwpassTimings = {
      render_ms: render.total,
      phases: render.phases,
      ready_ms: performance.now(),
      devices: state.devices ? state.devices.length : 0,
      vms: state.vms ? state.vms.length : 0,
    };
    document.documentElement.dataset.state = "ready";
    setTimeout(follow, LIVE_MS);
  });
})();
