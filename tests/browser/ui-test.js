#!/usr/bin/env node
/* The web UI in Debian's Chromium, driven by playwright-core; prints TAP.
 *
 *   node ui-test.js [--desktop URL --token TOKEN [--viewer-token TOKEN]] [--perf URL --perf-token TOKEN]
 *                   [--lab URL --token TOKEN --lab-device SBDF --vm NAME]
 *                   [--cluster URL --token TOKEN --hwpass PATH --host-db DB --host-root DIR --stop-pid PID
 *                    --probe-guest KERNEL]
 *                   [--out DIR] [--chromium PATH] [--vm NAME] [--devices N] [--vms N]
 *
 * --desktop: hwpassd serving the desktop fixture host with VM NAME (default
 * "gamer") holding its GPU 0000:0c:00.0: every section, a label round trip,
 * the passthrough dry-run panel, Start on a VM the host cannot start; with a
 * viewer's token, the same page offers no button that would change anything.
 * --perf: a host with N PCI functions (1000) and N VMs (200): everything is in
 * the DOM, and the render time is printed and saved to DIR/figures.txt (not
 * asserted). --lab: hwpassd in the lab's L1 (tests/browser/lab-run), over TLS
 * with a certificate made for the run: the passthrough switch is applied for
 * real, VM NAME is started with SBDF, its console read, and it is stopped.
 * --cluster: a controller (tests/browser/cluster-run) whose agents gpu-a (the
 * desktop fixture, its store DB and tree DIR, read with the hwpass at PATH)
 * and gpu-b (gpu-server, its agent's pid PID) are connected: the hosts, a
 * host's devices, a label and passthrough set through the controller, HA's
 * line and gpu-a in and out of maintenance from its row (maintenanceAndHa),
 * gpu-b seen disconnected once its agent is stopped here; and the cluster's VMs
 * (clusterVms): defined through the API, listed not placed, explained host by
 * host, a refusal with each host's reason; one given a VF of gpu-b, whose
 * start really fails there, shown with its failure; one with no device and
 * the probe guest KERNEL, run by gpu-b's agent in a real QEMU (under TCG),
 * powered on and off in the page.
 * The tokens are sent as "Authorization: Bearer", except where the
 * login prompt is tested: there the page is given the token. Screenshots go to
 * DIR, named by step. Outside the lab and the cluster's device-less VM
 * nothing applies a plan or starts a VM for real: that needs the real kernel. */
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const { chromium } = require("playwright-core");

const opt = { out: ".", chromium: "/usr/bin/chromium", vm: "gamer", devices: 1000, vms: 200 };
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in opt) && !["desktop", "perf", "lab", "token", "perf-token", "lab-device", "cluster", "hwpass", "host-db",
    "host-root", "stop-pid", "probe-guest", "viewer-token", "vm-token"].includes(k)) {
    console.error(`ui-test.js: unknown option ${process.argv[i]}`);
    process.exit(2);
  }
  opt[k] = process.argv[i + 1];
}
const GPU = "0000:0c:00.0", GPU_AUDIO = "0000:0c:00.1";

let n = 0, failed = 0;
function ok(cond, name, diag) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    if (diag) console.log(String(diag).split("\n").map((l) => "# " + l).join("\n"));
  }
  return cond;
}
function skip(name, why) {
  n++;
  console.log(`ok ${n} - ${name} # SKIP ${why}`);
}
const comment = (text) => console.log("# " + text);

async function check(name, fn) {
  try {
    const r = await fn();
    return ok(r === undefined || r === true, name, r === false ? "" : r);
  } catch (e) {
    return ok(false, name, e.stack || e.message);
  }
}

/* A full-page picture from the top. Sections off screen are not drawn
 * (content-visibility: auto) and would come out blank: they are drawn for
 * the picture only, and the page is as it was afterwards. */
async function shot(page, name, full = true) {
  if (!full) return page.screenshot({ path: path.join(opt.out, name + ".png") });
  const style = await page.addStyleTag({ content: "* { content-visibility: visible !important; }" });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(opt.out, name + ".png"), fullPage: true });
  await style.evaluate((e) => e.remove());
}

/* A picture of one element (a section), as it is now. */
async function shotOf(page, selector, name) {
  await page.locator(selector).screenshot({ path: path.join(opt.out, name + ".png") });
}

async function ready(page, url, timeout = 30000) {
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.state === "ready", null, { timeout });
}

/* An API document, fetched with the browser context's headers (the token). */
async function apiGet(page, base, p) {
  const r = await page.request.get(new URL(p, base).href);
  if (!r.ok()) throw new Error(`GET ${p}: ${r.status()}`);
  return r.json();
}

/* The answer to the next request matching method and path, and its JSON. */
async function nextAnswer(page, method, pathPart, action) {
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && r.url().includes(pathPart)),
    action(),
  ]);
  let body = null;
  try { body = await resp.json(); } catch { /* text */ }
  return { status: resp.status(), body, sent: resp.request().postDataJSON() };
}

/* The page's script errors, and what its Content-Security-Policy refused
 * (reported on the console), as they happen. */
function watchErrors(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  return errors;
}

/* true when every input has a label and every action is a button, else what is wrong. */
function accessible(page) {
  return page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll("input")].filter((i) => !i.labels.length).map((i) => i.id);
    const fake = [...document.querySelectorAll("[data-action]")].filter((e) => e.tagName !== "BUTTON");
    return (!unlabelled.length && !fake.length) || `unlabelled ${unlabelled}, non-buttons ${fake.length}`;
  });
}

async function desktop(browser, base) {
  const ctx = await newContext(browser, opt.token);
  const page = await ctx.newPage();
  const pageErrors = watchErrors(page);

  await check("the page loads and renders every section", () => ready(page, base));
  await shot(page, "desktop-01-loaded");

  const hostDoc = await apiGet(page, base, "v1/host/check");
  await check("readiness: one line per check, with its verdict", async () => {
    const rows = await page.$$eval("#host-body li.check", (els) =>
      els.map((e) => ({ id: e.dataset.check, level: e.querySelector(".badge").textContent })));
    const want = hostDoc.checks.map((c) => ({ id: c.id, level: c.level }));
    return JSON.stringify(rows) === JSON.stringify(want) || `got ${JSON.stringify(rows)}`;
  });
  await check("readiness: a check that warns shows its fix", async () => {
    const c = hostDoc.checks.find((x) => x.fix);
    if (!c) return "the fixture has no check with a fix";
    const text = await page.textContent(`#host-body li[data-check="${c.id}"] .fix`);
    return text.includes(c.fix) || `fix shown: ${text}`;
  });
  await check("readiness: the host's verdict in the heading", async () => {
    const text = await page.textContent("#host-count");
    return text.startsWith(hostDoc.passthrough_ready ? "ready for passthrough" : "not ready") || text;
  });

  const devDoc = await apiGet(page, base, "v1/devices");
  const gpu = devDoc.devices.find((d) => d.address === GPU);
  await check("devices: every PCI function has a row", async () => {
    const rows = await page.locator("#devices-body .dev[data-addr]").count();
    return rows === devDoc.devices.length || `${rows} rows for ${devDoc.devices.length} devices`;
  });
  await check(`devices: the GPU ${GPU} and its audio function in one IOMMU group`, async () => {
    const group = page.locator(`#devices-body .group[data-group="${gpu.iommu_group}"]`);
    const addrs = await group.locator(".dev[data-addr]").evaluateAll((els) => els.map((e) => e.dataset.addr));
    const head = await group.locator(".group-head").textContent();
    return (addrs.join() === [GPU, GPU_AUDIO].join() && head.includes(`IOMMU group ${gpu.iommu_group}`)) ||
      `group ${gpu.iommu_group}: ${addrs} / ${head}`;
  });
  await check("devices: the GPU's row shows its name, driver, state and passthrough switch", async () => {
    const row = page.locator(`.dev[data-addr="${GPU}"]`);
    const text = await row.textContent();
    const sw = row.locator('button[role="switch"]');
    return (text.includes(gpu.device_name) && text.includes("nvidia") && text.includes("host") &&
      (await sw.getAttribute("aria-checked")) === "false") || text;
  });
  await check("devices: a group with no IOMMU group is listed apart", async () =>
    (await page.locator('#devices-body .group[data-group="none"] .group-head').textContent()).includes("No IOMMU group"));
  await check("devices: the filter keeps the groups that match", async () => {
    await page.fill("#device-filter", "nvidia");
    await page.waitForFunction(() => document.querySelectorAll("#devices-body .group").length === 1);
    const addrs = await page.locator("#devices-body .dev[data-addr]").evaluateAll((els) => els.map((e) => e.dataset.addr));
    await page.fill("#device-filter", "");
    await page.waitForFunction((want) => document.querySelectorAll("#devices-body .dev[data-addr]").length === want,
      devDoc.devices.length);
    return addrs.join() === [GPU, GPU_AUDIO].join() || `shown: ${addrs}`;
  });

  /* The label: set through the dialog, then seen again after a reload. */
  const label = "gaming gpu (set in the browser)";
  await page.click(`.dev[data-addr="${GPU}"] button[data-action="label"]`);
  await check("label: the edit dialog opens with a labelled input", async () =>
    (await page.locator("#label-dialog").isVisible()) &&
    (await page.locator("#label-input").evaluate((e) => e.labels.length === 1)));
  await page.fill("#label-input", label);
  await shot(page, "desktop-02-label-dialog", false);
  const put = await nextAnswer(page, "PUT", `/v1/devices/${GPU}/label`, () => page.click("#label-save"));
  if (put.status === 200) {
    await check("label: saved, the dialog closes", () =>
      page.waitForSelector("#label-dialog", { state: "hidden" }).then(() => true));
  } else {
    await check(`label: the server's answer (${put.status}) is shown in the dialog`, async () => {
      const want = put.body && put.body.error && put.body.error.message;
      await page.waitForFunction((w) => document.getElementById("label-msg").textContent === w, want);
      return true;
    });
    comment(`PUT label answered ${put.status}: ${JSON.stringify(put.body && put.body.error)}`);
    await page.click("#label-cancel");
  }
  await ready(page, base);
  await check("label: after a reload the row shows the new label", async () =>
    (await page.textContent(`.dev[data-addr="${GPU}"] .label`)) === label);
  await check("label: the change is the newest event, with who made it", async () => {
    const first = page.locator("#events-body tbody tr").first();
    const cells = await first.locator("td").allTextContents();
    return (cells[2] === "device-label" && cells[3] === GPU && /^token .* via hwpassd$/.test(cells[1])) || cells.join(" | ");
  });
  await check("events: newest first", async () => {
    const ids = await page.locator("#events-body tr[data-event]").evaluateAll((els) => els.map((e) => +e.dataset.event));
    return (ids.length >= 2 && ids.every((id, i) => i === 0 || id < ids[i - 1])) || `ids ${ids}`;
  });
  await shot(page, "desktop-03-labelled");

  /* Passthrough: the switch asks for a dry run and shows the plan. */
  const dry = await nextAnswer(page, "PUT", `/v1/devices/${GPU}/passthrough`, () =>
    page.click(`.dev[data-addr="${GPU}"] button[data-action="toggle"]`));
  await check("passthrough: the switch opens the confirmation panel", () =>
    page.waitForSelector("#plan-dialog", { state: "visible" }).then(() => true));
  await check("passthrough: the switch asked for a dry run to enable", () =>
    JSON.stringify(dry.sent) === JSON.stringify({ enabled: true, dry_run: true }) || JSON.stringify(dry.sent));
  /* The plan: the answer itself, or the detail of a refusal (409). */
  const err = dry.body && dry.body.error, plan = err ? err.detail : dry.body;
  if (err) {
    await check(`passthrough: the server's message (${dry.status}) is shown in the panel`, async () =>
      (await page.textContent("#plan-msg")) === err.message || `shown: ${await page.textContent("#plan-msg")}`);
  }
  if (plan && Array.isArray(plan.steps)) {
    await check("passthrough: the plan's steps are listed (the whole IOMMU group moves)", async () => {
      const steps = await page.locator("#plan-body tr[data-step]").evaluateAll((els) => els.map((e) => e.dataset.step));
      return (steps.join() === plan.steps.map((s) => s.address).join() && steps.includes(GPU) &&
        steps.includes(GPU_AUDIO)) || `steps ${steps}`;
    });
    await check("passthrough: the plan's warnings and refusals are listed", async () => {
      const warn = await page.locator("#plan-body .warnings li").allTextContents();
      const refusals = await page.locator("#plan-body .refusals li").allTextContents();
      return (warn.join("\n") === (plan.warnings || []).join("\n") &&
        refusals.join("\n") === (plan.refusals || []).join("\n")) || `${warn} / ${refusals}`;
    });
    await check("passthrough: Apply is offered only for a plan that can be applied, force only on refusals", async () => {
      const refused = (plan.refusals || []).length > 0;
      return ((await page.isDisabled("#plan-apply")) ===
        !(plan.applicable && plan.steps.length && !refused && !(plan.errors || []).length) &&
        (await page.isVisible("#plan-force")) === refused) || "Apply or the force box is wrong";
    });
  } else {
    await check("passthrough: without a plan, Apply is off", () => page.isDisabled("#plan-apply"));
    skip("passthrough: the plan's steps are listed", `the server gave no plan: ${JSON.stringify(dry.body)}`);
  }
  await shot(page, "desktop-04-passthrough-plan", false);
  await page.click("#plan-cancel");

  /* A device that cannot be passed through at all: no IOMMU group. */
  const noGroup = devDoc.devices.find((d) => d.iommu_group === null && !d.is_bridge);
  const refused = await nextAnswer(page, "PUT", `/v1/devices/${noGroup.address}/passthrough`, () =>
    page.click(`.dev[data-addr="${noGroup.address}"] button[data-action="toggle"]`));
  await check(`passthrough: ${noGroup.address} (no IOMMU group): the server's answer is shown, Apply is off`, async () => {
    await page.waitForSelector("#plan-dialog", { state: "visible" });
    const body = refused.body || {}, plan = body.error ? body.error.detail : body;
    const why = [...((plan && plan.refusals) || []), ...((plan && plan.errors) || [])];
    const msg = await page.textContent("#plan-msg"), lists = await page.locator("#plan-body li").allTextContents();
    return ((body.error ? msg === body.error.message : true) && why.every((w) => lists.includes(w)) &&
      (await page.isDisabled("#plan-apply"))) || `${refused.status} ${JSON.stringify(body)}: shown "${msg}" ${lists}`;
  });
  await shot(page, "desktop-05-passthrough-refused", false);
  await page.click("#plan-cancel");

  /* VMs */
  const vmRow = page.locator(`#vms-body tr[data-vm="${opt.vm}"]`);
  await check(`VMs: ${opt.vm} is listed, off, with its GPU, Start and Stop`, async () => {
    const text = await vmRow.textContent();
    return (text.includes("off") && text.includes(GPU) &&
      (await vmRow.locator('button[data-action="start"]').isEnabled()) &&
      (await vmRow.locator('button[data-action="stop"]').isDisabled())) || text;
  });
  const vmsDoc = await apiGet(page, base, "v1/vms");
  await check("VMs: each VM's autostart (order, delay) is shown, and only where it is set", async () => {
    const bad = [];
    for (const vm of vmsDoc.vms) {
      const text = await page.locator(`#vms-body tr[data-vm="${vm.name}"]`).textContent();
      const want = vm.autostart ? `starts with the host: order ${vm.autostart.order}` +
        (vm.autostart.delay ? `, then ${vm.autostart.delay} s` : "") : null;
      if (want ? !text.includes(want) : text.includes("starts with the host")) bad.push(`${vm.name}: ${text}`);
    }
    return (!bad.length && vmsDoc.vms.some((v) => v.autostart)) || bad.join("\n") || "no VM has autostart set";
  });
  const start = await nextAnswer(page, "POST", `/v1/vms/${opt.vm}/start`, () =>
    vmRow.locator('button[data-action="start"]').click());
  await check(`VMs: Start on ${opt.vm} is refused by the host, and the server's message is shown`, async () => {
    const want = start.body && start.body.error && start.body.error.message;
    if (start.status < 400 || !want) return `the server answered ${start.status}`;
    await page.waitForFunction((w) => document.getElementById("vms-msg").textContent.includes(w), want);
    return /not enabled for passthrough/.test(want) || want;
  });
  await check(`VMs: ${opt.vm} is still off`, async () => {
    await page.waitForFunction((vm) => {
      const r = document.querySelector(`#vms-body tr[data-vm="${vm}"] .badge`);
      return r && r.textContent === "off";
    }, opt.vm);
    return true;
  });
  await shot(page, "desktop-06-vm-start-refused");
  await vmRow.locator('button[data-action="log"]').click();
  await check("VMs: the console log of a VM that has not run says so", async () => {
    await page.waitForFunction(() => document.getElementById("log-msg").textContent.includes("has not run"));
    return (await page.textContent("#log-text")) === "";
  });
  await shot(page, "desktop-07-console-log", false);
  await page.click("#log-close");

  /* USB */
  const usbDoc = await apiGet(page, base, "v1/usb");
  await check("USB: every controller and every device of the tree", async () => {
    const ctls = await page.locator("#usb-body article.usb-ctl").count();
    const devs = await page.locator("#usb-body li[data-usb]").count();
    const want = usbDoc.controllers.reduce((s, c) => s + c.buses.reduce((t, b) => t + b.devices.length, 0), 0);
    return (ctls === usbDoc.controllers.length && devs === want) || `${ctls} controllers, ${devs} devices (want ${want})`;
  });
  await check("USB: a device behind a hub is shown below the hub", async () => {
    const c = page.locator('#usb-body article[data-controller="0000:09:00.1"]');
    const nested = await c.locator('li[data-usb="3-1"] li[data-usb="3-1.1"]').textContent();
    return nested.includes("046d:c548") || nested;
  });

  /* Live: another client changes a label; the page follows the events. The
   * label is markup, which must show as text. */
  const other = '<img src=x onerror="window.hwpassXss=1"> set by another client';
  const put2 = await page.request.put(new URL(`v1/devices/${GPU_AUDIO}/label`, base).href, { data: { label: other } });
  await check("live: a label set by another client shows up without a reload", async () => {
    if (!put2.ok()) return `PUT answered ${put2.status()}`;
    await page.waitForFunction(([a, l]) => {
      const e = document.querySelector(`.dev[data-addr="${a}"] .label`);
      return e && e.textContent === l;
    }, [GPU_AUDIO, other], { timeout: 15000 });
    const first = await page.locator("#events-body tbody tr").first().locator("td").allTextContents();
    return (first[2] === "device-label" && first[3] === GPU_AUDIO) || first.join(" | ");
  });
  await check("a label holding markup is shown as text, never run", async () => {
    const imgs = await page.locator(`.dev[data-addr="${GPU_AUDIO}"] img, #events-body img`).count();
    const ran = await page.evaluate(() => window.hwpassXss);
    return (imgs === 0 && ran === undefined) || `${imgs} img elements, handler ran: ${ran}`;
  });
  await check("live: no event is listed twice", async () => {
    const ids = await page.locator("#events-body tr[data-event]").evaluateAll((els) => els.map((e) => e.dataset.event));
    return new Set(ids).size === ids.length || `ids ${ids}`;
  });

  await check("accessibility: every input has a label, every action is a button", () => accessible(page));
  await check("no script errors on the page, nothing refused by its Content-Security-Policy", () =>
    !pageErrors.length || pageErrors.join("\n"));
  await ctx.close();

  await loginPrompt(browser, base);
  if (opt["viewer-token"]) await viewerPage(browser, base);
  if (opt["vm-token"]) await vmTokenPage(browser, base);
}

/* An operator's token limited to one VM (hwpass token create --vms): the
 * page lists that VM only, offers its Start, and no device's label Edit,
 * which acts on the host (403). */
async function vmTokenPage(browser, base) {
  const ctx = await newContext(browser, opt["vm-token"]);
  const page = await ctx.newPage();
  await ready(page, base);
  await check("VM token: every section loads, and the page knows the token is limited to VMs", async () => {
    const errors = await page.locator("main .msg.error").count();
    const limits = await page.evaluate(() => document.documentElement.dataset.limits);
    return (errors === 0 && limits === "vms") || `${errors} section errors, limits ${limits}`;
  });
  await check(`VM token: the VM list holds ${opt.vm} only, with its Start; no label Edit is offered`, async () => {
    const shown = async (sel) => page.locator(sel).evaluateAll((bs) => bs.filter((b) => b.offsetParent !== null).length);
    const names = await page.locator("#vms-body tr[data-vm]").evaluateAll((rs) => rs.map((r) => r.dataset.vm));
    const start = await shown('button[data-action="start"]'), edit = await shown('button[data-action="label"]');
    return (names.join(" ") === opt.vm && start === 1 && edit === 0) || `VMs ${names}, start ${start}, edit ${edit}`;
  });
  await ctx.close();
}

/* A viewer's token (hwpass token create --role viewer): every section reads,
 * and the page offers none of the buttons a viewer would be refused (403):
 * no VM start or stop, no label edit; the passthrough switch shows the
 * state, and a click on it sends nothing. */
async function viewerPage(browser, base) {
  const ctx = await newContext(browser, opt["viewer-token"]);
  const page = await ctx.newPage();
  const writes = [];
  page.on("request", (r) => { if (r.url().includes("/v1/") && r.method() !== "GET") writes.push(r.method() + " " + r.url()); });
  await ready(page, base);
  await check("viewer: every section loads, and the page knows the token's role", async () => {
    const errors = await page.locator("main .msg.error").count();
    const access = await page.evaluate(() => document.documentElement.dataset.access);
    return (errors === 0 && access === "viewer") || `${errors} section errors, access ${access}`;
  });
  await check("viewer: no Start, Stop or label Edit button is offered; Console log is", async () => {
    const shown = async (sel) => page.locator(sel).evaluateAll((bs) => bs.filter((b) => b.offsetParent !== null).length);
    const start = await shown('button[data-action="start"]'), stop = await shown('button[data-action="stop"]');
    const edit = await shown('button[data-action="label"]'), log = await shown('button[data-action="log"]');
    return (start === 0 && stop === 0 && edit === 0 && log > 0) || `start ${start}, stop ${stop}, edit ${edit}, log ${log}`;
  });
  await check("viewer: the passthrough switch shows the state, and pressing it sends nothing", async () => {
    const sw = page.locator(`[data-addr="${GPU}"] button.switch`);
    const checked = await sw.getAttribute("aria-checked");
    await sw.focus();
    await page.keyboard.press("Enter");
    await page.waitForTimeout(300);
    const open = await page.isVisible("#plan-dialog");
    return (checked !== null && !open && writes.length === 0) || `aria-checked ${checked}, plan open ${open}, sent ${writes}`;
  });
  await shot(page, "desktop-09-viewer", false);
  await ctx.close();
}

/* The login prompt: a browser without a token gets the page, the API's 401,
 * and the prompt; a wrong token is refused by hwpassd and asked for again; the
 * right one loads every section and is kept for the session only. */
async function loginPrompt(browser, base) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  const sent = [];
  page.on("request", (r) => { if (r.url().includes("/v1/")) sent.push(r.headers().authorization || ""); });
  await page.goto(base);
  await check("login: without a token the API answers 401 and the page asks for one", () =>
    page.waitForSelector("#login-dialog", { state: "visible" }).then(() => true));
  await shot(page, "desktop-08-login", false);
  await page.fill("#login-token", "not-a-token");
  await page.click('#login-form button[type="submit"]');
  await check("login: a wrong token is refused and asked for again", async () => {
    await page.waitForFunction(() => document.getElementById("login-msg").textContent === "That token was refused.");
    return (await page.isVisible("#login-dialog")) && sent.includes("Bearer not-a-token");
  });
  await page.fill("#login-token", opt.token);
  await page.click('#login-form button[type="submit"]');
  await check("login: with the token every section loads, and it is kept for the session", async () => {
    await page.waitForFunction(() => document.documentElement.dataset.state === "ready");
    const stored = await page.evaluate(() => sessionStorage.getItem("hwpass.token"));
    const errors = await page.locator("main .msg.error").count();
    return (stored === opt.token && errors === 0 && sent[sent.length - 1] === "Bearer " + opt.token) ||
      `stored ${stored}, ${errors} section errors, last sent "${sent[sent.length - 1]}"`;
  });
  await ctx.close();
}

/* The lab: every step acts on L1's kernel, and each is checked in the page. */
async function lab(browser, base) {
  const ctx = await browser.newContext({
    extraHTTPHeaders: { Authorization: "Bearer " + opt.token },
    viewport: { width: 1400, height: 900 },
  });
  const page = await ctx.newPage();
  page.setDefaultTimeout(180000); /* a forced stop alone waits 30 s for ACPI first */
  const pageErrors = watchErrors(page);
  const dev = opt["lab-device"], vm = opt.vm;
  const row = page.locator(`.dev[data-addr="${dev}"]`);
  const vmRow = page.locator(`#vms-body tr[data-vm="${vm}"]`);
  /* Waits for a condition on the page; TCG in TCG is slow, so generously. */
  const until = (fn, arg, timeout = 120000) => page.waitForFunction(fn, arg, { timeout }).then(() => true);

  await check("lab: the page loads over TLS with the token, every section rendered", () => ready(page, base, 120000));
  await check("lab: L1 is ready for passthrough", async () =>
    (await page.textContent("#host-count")) === "ready for passthrough" || await page.textContent("#host-count"));
  await check(`lab: ${dev} is on the nvme driver, passthrough off`, async () => {
    const text = await row.textContent();
    return (text.includes("nvme") && text.includes("host") &&
      (await row.locator('button[role="switch"]').getAttribute("aria-checked")) === "false") || text;
  });
  await shot(page, "lab-01-loaded");

  const dry = await nextAnswer(page, "PUT", `/v1/devices/${dev}/passthrough`, () =>
    row.locator('button[data-action="toggle"]').click());
  await check(`lab: the switch shows the dry run: ${dev} from nvme to vfio-pci, Apply offered`, async () => {
    await page.waitForSelector("#plan-dialog", { state: "visible" });
    const step = await page.locator(`#plan-body tr[data-step="${dev}"]`).allTextContents();
    return (dry.status === 200 && dry.body.dry_run === true && dry.body.applied === false &&
      step.length === 1 && step[0].includes("nvme") && step[0].includes("vfio-pci") &&
      !(await page.isDisabled("#plan-apply"))) || `${dry.status} ${JSON.stringify(dry.body)}`;
  });
  await shot(page, "lab-02-passthrough-plan", false);
  const applied = await nextAnswer(page, "PUT", `/v1/devices/${dev}/passthrough`, () => page.click("#plan-apply"));
  await check("lab: Apply switches it: the plan comes back applied", () =>
    (applied.status === 200 && applied.body.applied === true &&
      JSON.stringify(applied.sent) === JSON.stringify({ enabled: true })) ||
    `${applied.status} ${JSON.stringify(applied.body)} (sent ${JSON.stringify(applied.sent)})`);
  await check(`lab: ${dev}'s row shows vfio-pci, passed through`, () => until((a) => {
    const r = document.querySelector(`.dev[data-addr="${a}"]`);
    return r && r.textContent.includes("vfio-pci") && r.textContent.includes("passed through") &&
      r.querySelector('button[role="switch"]').getAttribute("aria-checked") === "true";
  }, dev));
  await shot(page, "lab-03-passthrough-on");

  const start = await nextAnswer(page, "POST", `/v1/vms/${vm}/start`, () =>
    vmRow.locator('button[data-action="start"]').click());
  await check(`lab: Start powers ${vm} on`, () => start.status === 200 || `${start.status} ${JSON.stringify(start.body)}`);
  await check(`lab: ${vm} shows running, and ${dev} shows it as its owner`, () => until(([v, a]) => {
    const b = document.querySelector(`#vms-body tr[data-vm="${v}"] .badge`);
    const r = document.querySelector(`.dev[data-addr="${a}"] .vm-ref`);
    return b && b.textContent === "running" && r && r.textContent === v;
  }, [vm, dev]));
  await shot(page, "lab-04-vm-running");

  await vmRow.locator('button[data-action="log"]').click();
  /* Opened at once after the start: the rest of the boot comes in by itself. */
  await page.waitForFunction(() => document.getElementById("log-text").textContent ||
    document.getElementById("log-msg").textContent);
  const firstLog = await page.textContent("#log-text");
  comment(`console log when opened: ${firstLog.split("\n").length} lines` +
    (firstLog.includes("PROBE done") ? " (the guest had finished: following not shown)" : ", not yet done"));
  await check(`lab: the console log follows the guest to its NVMe IDENTIFY through VFIO, unasked`, async () => {
    try {
      await until(() => document.getElementById("log-text").textContent.includes("PROBE done"));
    } catch (e) {
      return `no "PROBE done" after 120 s: ${(await page.textContent("#log-text")).slice(-600)}`;
    }
    const text = await page.textContent("#log-text");
    return /identify=ok vid=1b36 sn="hwpass-nvme1"/.test(text) || text.slice(-600);
  });
  await shot(page, "lab-05-console-log", false);
  await page.click("#log-close");

  /* The probe guest ignores ACPI: Stop ends with the forced power-off. */
  const stop = await nextAnswer(page, "POST", `/v1/vms/${vm}/stop`, () =>
    vmRow.locator('button[data-action="stop"]').click());
  await check(`lab: Stop powers ${vm} off`, () => stop.status === 200 || `${stop.status} ${JSON.stringify(stop.body)}`);
  await check(`lab: ${vm} shows off, ${dev} has no owner, Start is offered again`, () => until(([v, a]) => {
    const r = document.querySelector(`#vms-body tr[data-vm="${v}"]`);
    return r && r.querySelector(".badge").textContent === "off" && !r.querySelector('[data-action="start"]').disabled &&
      !document.querySelector(`.dev[data-addr="${a}"] .vm-ref`);
  }, [vm, dev]));
  await check("lab: the events show each step, done with the browser's token", async () => {
    let rows, bad;
    for (let i = 0; i < 10; i++) {
      rows = await page.locator("#events-body tbody tr").evaluateAll((els) =>
        els.map((e) => [...e.querySelectorAll("td")].map((td) => td.textContent)));
      const by = (kind, subject) => rows.find((c) => c[2] === kind && c[3] === subject);
      const want = [["passthrough-enabled", dev], ["vm-started", vm], ["vm-stopped", vm]];
      bad = want.filter(([k, s]) => !by(k, s) || by(k, s)[1] !== "token browser via hwpassd");
      if (!bad.length) return true;
      await page.waitForTimeout(1000);
      await page.click("#refresh");
    }
    return `missing or not by the token: ${JSON.stringify(bad)}; newest: ${JSON.stringify(rows.slice(0, 6))}`;
  });
  await shot(page, "lab-06-vm-stopped");
  await check("lab: no script errors on the page, nothing refused by its Content-Security-Policy", () =>
    !pageErrors.length || pageErrors.join("\n"));
  await ctx.close();
}

/* A cluster's controller: its hosts, a host's devices through ?host=, and
 * settings made in the page that reach the host's own store. */
async function cluster(browser, base) {
  const ctx = await newContext(browser, opt.token);
  const page = await ctx.newPage();
  const pageErrors = watchErrors(page);
  const sent = []; /* "METHOD /path?query" of every API request */
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/v1/")) sent.push(`${r.method()} ${u.pathname}${u.search}`);
  });
  const row = (host) => page.locator(`#hosts-body tr[data-host="${host}"]`);
  const badge = (host) => row(host).locator(".badge").first();
  const gib = (mib) => `${mib / 1024} GiB`; /* the fixtures' memory is in whole GiB */
  const hostIs = (host, state, cls) => page.waitForFunction(([h, st, c]) => {
    const b = document.querySelector(`#hosts-body tr[data-host="${h}"] .badge`);
    return b && b.textContent === st && b.classList.contains(c);
  }, [host, state, cls], { timeout: 30000 }).then(() => true);

  await check("cluster: the page loads from the controller", () => ready(page, base));
  await check("cluster: it asked what the daemon is before anything else", () =>
    sent[0] === "GET /v1/daemon" || `first requests: ${sent.slice(0, 3)}`);
  await check("cluster: Hosts, Devices, VMs and Events shown; a single host's readiness and USB hidden, with their links",
    async () => {
      const shown = await page.evaluate(() => ["hosts", "host", "devices", "usb", "vms", "events"].map((id) =>
        `${id}:${!document.getElementById(id).hidden}/${!document.querySelector(`nav a[href="#${id}"]`).hidden}`));
      const want = ["hosts:true/true", "host:false/false", "devices:true/true", "usb:false/false", "vms:true/true",
        "events:true/true"];
      return shown.join() === want.join() || shown.join();
    });
  await check("cluster: nothing is asked of the routes a controller does not serve, no section shows an error",
    async () => {
      const asked = sent.filter((r) => /^GET \/v1\/(host\/|usb)/.test(r));
      const errors = await page.locator("main .msg.error").allTextContents();
      return (!asked.length && !errors.length) || `asked ${asked}; errors ${errors}`;
    });
  await check("cluster: the VMs come next to the hosts, above a host's devices (sections and links in that order)",
    async () => {
      const order = await page.evaluate(() => [
        [...document.querySelectorAll("main > section")].filter((e) => !e.hidden).map((e) => e.id).join(),
        [...document.querySelectorAll("nav a")].filter((a) => !a.hidden).map((a) => a.getAttribute("href")).join()]);
      return (order[0] === "hosts,vms,devices,events" && order[1] === "#hosts,#vms,#devices,#events") ||
        order.join(" / ");
    });
  await check("vms: the cluster's VMs are read (GET /v1/vms); none is defined yet, and the view says so", async () =>
    (sent.includes("GET /v1/vms") && (await page.textContent("#vms-body")).includes("No VMs defined") &&
      (await page.textContent("#vms-count")) === "0 VMs") ||
    `${sent.filter((r) => r.includes("/v1/vms"))}: ${await page.textContent("#vms-body")}`);

  const hostsDoc = await apiGet(page, base, "v1/hosts");
  await check("hosts: gpu-a and gpu-b listed, both connected, in green", async () => {
    const names = await page.locator("#hosts-body tr[data-host]").evaluateAll((els) => els.map((e) => e.dataset.host));
    const states = [await badge("gpu-a").textContent(), await badge("gpu-b").textContent()];
    const green = await badge("gpu-a").evaluate((e) => e.classList.contains("ok")) &&
      await badge("gpu-b").evaluate((e) => e.classList.contains("ok"));
    return (names.join() === "gpu-a,gpu-b" && states.join() === "connected,connected" && green) ||
      `hosts ${names}, states ${states}, green ${green}`;
  });
  await check("hosts: each host's pools as vendor:device with free/total (gpu-b: its two GPUs set for passthrough)",
    async () => {
      const bad = [];
      for (const h of hostsDoc.hosts) {
        const text = await row(h.name).locator("td").nth(4).textContent();
        for (const p of h.pools)
          if (!text.includes(`${p.vendor_id}:${p.device_id}`) || !text.includes(`${p.free}/${p.total} free`))
            bad.push(`${h.name}: ${text}`);
        if (!h.pools.length && !text.includes("none set for passthrough")) bad.push(`${h.name}: ${text}`);
      }
      const b = hostsDoc.hosts.find((h) => h.name === "gpu-b");
      return (!bad.length && b.pools.length === 1 && b.pools[0].total === 2) || bad.join("; ") || JSON.stringify(b.pools);
    });
  await check("hosts: memory free of total, and the last heartbeat's age", async () => {
    const bad = [];
    for (const h of hostsDoc.hosts) {
      const cells = await row(h.name).locator("td").allTextContents();
      if (!cells[3].includes(`${gib(h.memory.available_mib)} free of ${gib(h.memory.total_mib)}`) ||
        !/^\d+ s ago$/.test(cells[2]))
        bad.push(cells.join(" | "));
    }
    return !bad.length || bad.join("\n");
  });
  await check("devices: until a host is chosen, the section asks for one", async () =>
    (await page.textContent("#devices-body")).includes("Choose a host"));
  await shot(page, "cluster-01-hosts");

  /* gpu-a's devices, drawn by the standalone's device list. */
  const listed = await nextAnswer(page, "GET", "/v1/devices?host=gpu-a", () =>
    row("gpu-a").locator('button[data-action="pick"]').click());
  const devDoc = listed.body;
  await check("devices: choosing gpu-a reads its devices through the controller (?host=gpu-a)", () =>
    (listed.status === 200 && devDoc.devices.length > 0 && devDoc.devices.every((d) => d.host === "gpu-a")) ||
    `${listed.status} ${JSON.stringify(listed.body).slice(0, 200)}`);
  await check("devices: a row for every PCI function gpu-a reported, the GPU and its audio function in one group",
    async () => {
      await page.waitForFunction((want) => document.querySelectorAll("#devices-body .dev[data-addr]").length === want,
        devDoc.devices.length);
      const gpu = devDoc.devices.find((d) => d.address === GPU);
      const addrs = await page.locator(`#devices-body .group[data-group="${gpu.iommu_group}"] .dev[data-addr]`)
        .evaluateAll((els) => els.map((e) => e.dataset.addr));
      const text = await page.textContent(`.dev[data-addr="${GPU}"]`);
      return (addrs.join() === [GPU, GPU_AUDIO].join() && text.includes(gpu.device_name)) || `${addrs}: ${text}`;
    });
  await check("devices: the heading names gpu-a, its button is pressed, the page's address keeps it", async () => {
    const title = await page.textContent("#devices-title");
    const pressed = await row("gpu-a").locator("button.host-pick").getAttribute("aria-pressed");
    return (title.startsWith("PCI devices of gpu-a by IOMMU group") && pressed === "true" &&
      new URL(page.url()).search === "?host=gpu-a") || `${title} / ${pressed} / ${page.url()}`;
  });
  await shot(page, "cluster-02-gpu-a-devices");

  /* A label set in the page reaches gpu-a's own store with a heartbeat. */
  const label = "Training (set in the browser)";
  await page.click(`.dev[data-addr="${GPU}"] button[data-action="label"]`);
  await page.fill("#label-input", label);
  const put = await nextAnswer(page, "PUT", `/v1/devices/${GPU}/label?host=gpu-a`, () => page.click("#label-save"));
  await check("label: saved through the controller for gpu-a", () =>
    (put.status === 200 && put.body.host === "gpu-a" && put.body.label === label) ||
    `${put.status} ${JSON.stringify(put.body)}`);
  await check("label: the row shows it", () => page.waitForFunction(([a, l]) => {
    const e = document.querySelector(`.dev[data-addr="${a}"] .label`);
    return e && e.textContent === l;
  }, [GPU, label]).then(() => true));
  await check("label: it reaches gpu-a's own store (hwpass device show there)", async () => {
    let doc = null;
    for (let i = 0; i < 60; i++) {
      doc = JSON.parse(execFileSync(opt.hwpass, ["--db", opt["host-db"], "--host-root", opt["host-root"], "--json",
        "device", "show", GPU], { encoding: "utf8" }));
      if (doc.label === label) return true;
      await page.waitForTimeout(500);
    }
    return `gpu-a's store has label ${JSON.stringify(doc && doc.label)}`;
  });
  await shot(page, "cluster-03-labelled");

  /* Passthrough: the controller records it, the host plans and applies it. */
  const puts = () => sent.filter((r) => r.startsWith("PUT ")).length;
  const before = puts();
  await page.click(`.dev[data-addr="${GPU}"] button[data-action="toggle"]`);
  await check("passthrough: the switch opens the panel, which says gpu-a applies it; no dry run is asked", async () => {
    await page.waitForSelector("#plan-dialog", { state: "visible" });
    const text = await page.textContent("#plan-body");
    return (text.includes("gpu-a applies it at its next heartbeat") && puts() === before &&
      !(await page.isDisabled("#plan-apply"))) || `${text} (${puts() - before} PUTs)`;
  });
  await shot(page, "cluster-04-passthrough-panel", false);
  const applied = await nextAnswer(page, "PUT", `/v1/devices/${GPU}/passthrough?host=gpu-a`, () =>
    page.click("#plan-apply"));
  await check("passthrough: Apply records it through the controller", () =>
    (applied.status === 200 && applied.body.desired === true &&
      JSON.stringify(applied.sent) === JSON.stringify({ enabled: true })) ||
    `${applied.status} ${JSON.stringify(applied.body)} (sent ${JSON.stringify(applied.sent)})`);
  await check("passthrough: the switch is on, and gpu-a's hosts row shows the GPU's pool with its label", () =>
    page.waitForFunction(([a, l]) => {
      const sw = document.querySelector(`.dev[data-addr="${a}"] button[role="switch"]`);
      const pools = document.querySelector('#hosts-body tr[data-host="gpu-a"] .pools');
      return sw && sw.getAttribute("aria-checked") === "true" && pools &&
        pools.textContent.includes("10de:2206") && pools.textContent.includes(l);
    }, [GPU, label]).then(() => true));
  await shot(page, "cluster-05-passthrough-asked");
  await maintenanceAndHa(page, base, row, hostIs);

  await clusterVms(page, base, hostsDoc, sent);

  /* gpu-b's agent stops: the page, reading the hosts every 2 s, shows its lease end. */
  process.kill(+opt["stop-pid"], "SIGTERM");
  await check("hosts: gpu-b, its agent stopped, turns disconnected (amber) without a reload", async () =>
    (await hostIs("gpu-b", "disconnected", "warn")) &&
    ((await badge("gpu-a").textContent()) === "connected" || "gpu-a is not connected any more"));
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "cluster-06-gpu-b-disconnected", false);
  await check("hosts: after a reload gpu-a is still chosen, its devices listed", async () => {
    await ready(page, page.url());
    const rows = await page.locator("#devices-body .dev[data-addr]").count();
    return (rows === devDoc.devices.length && (await page.textContent("#devices-title")).includes("of gpu-a")) ||
      `${rows} rows`;
  });
  await check("hosts: gpu-b failed (red) a lease later", () => hostIs("gpu-b", "failed", "bad"));
  await check("hosts: each state in its own colour", async () => {
    const colours = await page.$$eval("#hosts-body .badge", (els) => els.map((e) => getComputedStyle(e).color));
    return new Set(colours).size >= 2 || `colours ${colours}`;
  });
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "cluster-07-gpu-b-failed", false);

  await check("cluster: every input has a label, every action is a button", () => accessible(page));
  await check("cluster: no script errors on the page, nothing refused by its Content-Security-Policy", () =>
    !pageErrors.length || pageErrors.join("\n"));
  await ctx.close();
}

/* HA and maintenance in the hosts section: what HA keeps room for, as GET
 * /v1/cluster/ha has it; gpu-a in and out of maintenance from its row (no VM
 * runs yet, so none moves). */
async function maintenanceAndHa(page, base, row, hostIs) {
  const haDoc = await apiGet(page, base, "v1/cluster/ha");
  await check("ha: the hosts section says admission control is off and every host's failure is survived, as " +
    "GET /v1/cluster/ha has it", async () => {
    await page.waitForSelector("#ha:not([hidden])", { timeout: 5000 }).catch(() => null);
    const text = await page.textContent("#ha");
    return (haDoc.tolerate === 0 && haDoc.ok === true && text.includes("admission control is off") &&
      text.includes("every host's failure survived") && (await page.getAttribute("#ha", "data-ok")) === "true") ||
      `${JSON.stringify(haDoc)}: ${text}`;
  });
  const button = () => row("gpu-a").locator('button[data-action="maintenance"]');
  const entered = await nextAnswer(page, "PUT", "/v1/hosts/gpu-a/maintenance", () => button().click());
  await check("maintenance: gpu-a's button puts it in maintenance (PUT, 200): its state turns maintenance, the " +
    "button offers the way out, the page says it takes no new VMs", async () => {
    if (entered.status !== 200 || !entered.body || entered.body.maintenance !== true ||
      JSON.stringify(entered.sent) !== '{"maintenance":true}')
      return `${entered.status} ${JSON.stringify(entered.body)}, sent ${JSON.stringify(entered.sent)}`;
    await hostIs("gpu-a", "maintenance", "info");
    await page.waitForFunction(() => document.getElementById("hosts-msg").textContent !== "", null, { timeout: 5000 })
      .catch(() => null);
    const msg = await page.textContent("#hosts-msg");
    const b = button();
    return ((await b.getAttribute("aria-pressed")) === "true" && (await b.textContent()) === "Exit maintenance" &&
      msg === "gpu-a is in maintenance: it takes no new VMs; it runs none to move.") ||
      `button "${await b.textContent()}", message "${msg}"`;
  });
  await check("maintenance: the controller has gpu-a in maintenance (GET /v1/hosts)", async () => {
    const doc = await apiGet(page, base, "v1/hosts");
    const a = doc.hosts.find((h) => h.name === "gpu-a");
    return (a.maintenance === true && a.state === "maintenance") || JSON.stringify(a);
  });
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "cluster-05b-gpu-a-maintenance", false);
  const left = await nextAnswer(page, "PUT", "/v1/hosts/gpu-a/maintenance", () => button().click());
  await check("maintenance: pressed again, gpu-a leaves it and is connected, the button offers it again", async () => {
    if (left.status !== 200 || !left.body || left.body.maintenance !== false)
      return `${left.status} ${JSON.stringify(left.body)}`;
    await hostIs("gpu-a", "connected", "ok");
    await page.waitForFunction((w) => document.getElementById("hosts-msg").textContent === w,
      "gpu-a is out of maintenance: it takes VMs again.", { timeout: 5000 }).catch(() => null);
    return ((await button().textContent()) === "Enter maintenance" &&
      (await page.textContent("#hosts-msg")) === "gpu-a is out of maintenance: it takes VMs again.") ||
      `button "${await button().textContent()}", message "${await page.textContent("#hosts-msg")}"`;
  });
}

/* gpu-b's ConnectX VFs (15b3:101c), bound to vfio-pci in the gpu-server fixture. */
const VFS = ["0000:0c:00.1", "0000:0c:00.2"];

/* The cluster's VMs in the controller's page. gpu-b's two VFs are set for
 * passthrough and VMs defined through the API, as a script would; the page
 * shows them without a reload. "svc" asks for one VF: it is explained (gpu-b
 * wins, gpu-a has none) and powered on: placed on gpu-b, holding a VF; a real
 * QEMU cannot have a fixture's device, so its start fails there, the
 * controller finds no other host with a VF, and svc is off again with the
 * failure shown. "wide" asks for three: its power-on is refused with each
 * host's reason. "probe" has no device and the probe guest as its kernel:
 * gpu-b's agent runs it (QEMU under TCG), then stops it, which takes the
 * agent's ACPI timeout (the probe guest ignores ACPI), shown as stopping.
 * "tagged" carries markup in a label. */
async function clusterVms(page, base, hostsDoc, sent) {
  const call = async (method, p, data) => {
    const r = await page.request.fetch(new URL(p, base).href, { method, data });
    return { status: r.status(), body: await r.json().catch(() => null) };
  };
  const vmDoc = (name) => apiGet(page, base, `v1/vms/${name}`);
  const row = (name) => page.locator(`#vms-body tr[data-vm="${name}"]`);
  const hostNames = hostsDoc.hosts.map((h) => h.name);
  /* What a VM's row shows, and the same taken from its API document. */
  const shown = (name) => row(name).evaluate((r) => ({
    host: r.querySelector(".vm-host").textContent,
    desired: r.querySelector(".vm-desired").textContent,
    state: r.querySelector(".vm-state .badge").textContent,
    epoch: r.querySelector(".vm-epoch").textContent,
    held: [...r.querySelectorAll(".vm-held .held code")].map((c) => c.textContent),
    power: [!r.querySelector('[data-action="start"]').disabled, !r.querySelector('[data-action="stop"]').disabled],
    /* Its start failures: a row of their own, right under the VM's. */
    failed: (() => {
      const f = r.nextElementSibling;
      return f && f.dataset.failures === r.dataset.vm ? [...f.querySelectorAll("li")].map((li) => li.textContent) : [];
    })(),
  }));
  const want = (d) => ({ host: d.host || "not placed", desired: d.desired, state: d.state, epoch: String(d.epoch),
    held: d.held_devices, power: [d.desired !== "on", d.desired === "on"],
    failed: d.start_failures.map((f) => `Start failed on ${f.host} (epoch ${f.epoch}): ${f.error}`) });
  /* Until the row shows what the API says and pred holds of that document (the page reads every 2 s). */
  const rowMatches = async (name, pred, ms = 20000) => {
    let got, doc;
    for (const end = Date.now() + ms; Date.now() < end; await page.waitForTimeout(300)) {
      doc = await vmDoc(name);
      got = await shown(name).catch(() => null);
      if (pred(doc) && JSON.stringify(got) === JSON.stringify(want(doc))) return true;
    }
    return `the row shows ${JSON.stringify(got)}; the API says ${JSON.stringify(want(doc))}`;
  };
  /* true once the events view's rows, newest first as [kind, subject, detail], hold
   * in order: each of kinds (newest first) of subject, the detail of its index at
   * detailOf containing detail; else what is shown. The page follows the events
   * every tick: one recorded just after a VM's change may come a tick later. */
  const eventsShow = async (subject, kinds, detailOf = -1, detail = "") => {
    let rows = [];
    for (const end = Date.now() + 10000; Date.now() < end; await page.waitForTimeout(300)) {
      rows = await page.locator("#events-body tbody tr").evaluateAll((rs) => rs.map((r) =>
        [...r.querySelectorAll("td")].slice(2, 5).map((td) => td.textContent)));
      const at = kinds.map((k) => rows.findIndex((e) => e[0] === k && e[1] === subject));
      if (at.every((i, j) => i >= 0 && (!j || at[j - 1] < i)) && (detailOf < 0 || rows[at[detailOf]][2].includes(detail)))
        return true;
    }
    return rows.slice(0, 8).map((e) => e.join(" ")).join(" | ");
  };
  /* The verdict rows under sel, as [host, verdict, why, devices]. */
  const verdictRows = (sel) => page.locator(`${sel} tr[data-verdict]`).evaluateAll((rows) => rows.map((r) =>
    [r.dataset.verdict, ...[...r.querySelectorAll("td")].slice(1).map((td) => td.textContent)]));
  const sameVerdicts = (rows, hosts) => {
    const bad = [];
    for (const h of hosts) {
      const r = rows.find((x) => x[0] === h.host);
      /* The message without the host's name and its verdict, which have their columns. */
      const why = h.message.replace(`${h.host}: `, "").replace(/^fits: /, h.fits ? "" : "fits: ");
      if (!r || !r[1].startsWith(h.fits ? "fits" : h.reason) || !h.message.startsWith(`${h.host}: `) || r[2] !== why)
        bad.push(`${h.host}: shown ${JSON.stringify(r)} for ${JSON.stringify(h)}`);
    }
    return bad;
  };

  /* Two VFs of gpu-b for passthrough: the agent finds them on vfio-pci already. */
  const puts = await Promise.all(VFS.map((a) => call("PUT", `v1/devices/${a}/passthrough?host=gpu-b`, { enabled: true })));
  await check("vms: gpu-b's two ConnectX VFs set for passthrough through the API, free in its pool without a reload",
    async () => {
      if (puts.some((r) => r.status !== 200)) return JSON.stringify(puts);
      await page.waitForFunction(() => {
        const p = document.querySelector('#hosts-body tr[data-host="gpu-b"] li[data-pool="15b3:101c"]');
        return p && p.textContent.includes("2/2 free");
      }, null, { timeout: 20000 });
      return true;
    });

  const define = (name, count, label) => call("POST", "v1/vms", { name, memory_mib: 64, vcpus: 1,
    pci: [{ index: 0, kind: "dynamic", allowed: ["15b3:101c"], count, ...(label ? { label } : {}) }] });
  const defined = [await define("svc", 1), await define("wide", 3),
    await call("POST", "v1/vms", { name: "probe", memory_mib: 64, vcpus: 1, kernel: opt["probe-guest"] })];
  await check("vms: svc (one VF), wide (three) and probe (no device) defined through the API, listed without a reload",
    async () => {
      if (defined.some((r) => r.status !== 201)) return JSON.stringify(defined);
      await page.waitForFunction(() => document.querySelectorAll("#vms-body tr[data-vm]").length === 3, null,
        { timeout: 10000 });
      const names = await page.locator("#vms-body tr[data-vm]").evaluateAll((rs) => rs.map((r) => r.dataset.vm));
      return names.join() === "probe,svc,wide" || `rows ${names}`;
    });
  await check("vms: svc is not placed, off (desired and reported), epoch 0, holds no device; Power on offered", async () => {
    const got = await shown("svc");
    const ok = JSON.stringify(got) === JSON.stringify({ host: "not placed", desired: "off", state: "off", epoch: "0",
      held: [], power: [true, false], failed: [] });
    return (ok && (await rowMatches("svc", () => true)) === true) || JSON.stringify(got);
  });
  await check("vms: each VM's request, with its count, none for probe; the heading counts them", async () => {
    const asks = [await row("svc").locator(".vm-devs").textContent(), await row("wide").locator(".vm-devs").textContent(),
      await row("probe").locator(".vm-devs").count()];
    const count = await page.textContent("#vms-count");
    return (asks[0] === "pci0: any of 15b3:101c" && asks[1] === "pci0: 3 × any of 15b3:101c" && asks[2] === 0 &&
      count === "3 VMs: 0 on, 3 not placed") || `${asks.join(" / ")} / ${count}`;
  });
  await shotOf(page, "#vms", "cluster-08-vms-defined");

  /* Explain: host by host, as GET /v1/vms/svc/explain says. */
  await row("svc").locator('button[data-action="explain"]').click();
  const panel = '#vms-body .explain[data-explain="svc"]';
  await page.waitForSelector(`${panel} tr[data-verdict]`);
  const ex = await apiGet(page, base, "v1/vms/svc/explain");
  await check("explain: svc's panel has a verdict for every host, each with its reason and message", async () => {
    const rows = await verdictRows(panel);
    const bad = sameVerdicts(rows, ex.hosts);
    return (!bad.length && rows.map((r) => r[0]).sort().join() === hostNames.slice().sort().join() &&
      ex.hosts.length === hostNames.length) || bad.join("\n") || JSON.stringify(rows);
  });
  await check("explain: gpu-a cannot take svc (no free VF), gpu-b fits with a VF and would win, with why", async () => {
    const rows = await verdictRows(panel), a = rows.find((r) => r[0] === "gpu-a"), b = rows.find((r) => r[0] === "gpu-b");
    const why = await page.textContent(`${panel} .why`);
    const winner = await page.locator(`${panel} tr.winner`).evaluateAll((rs) => rs.map((r) => r.dataset.verdict));
    return (ex.winner === "gpu-b" && winner.join() === "gpu-b" && a[1] === "devices" && a[2].includes("needs 1") &&
      b[1] === "fitswould win" && VFS.some((v) => b[3].includes(v)) && why === ex.why && why.startsWith("gpu-b wins")) ||
      `${JSON.stringify(rows)} / winner ${winner} / ${why}`;
  });
  await check("explain: the Explain button is pressed, the row marked", async () =>
    ((await row("svc").locator('button[data-action="explain"]').getAttribute("aria-pressed")) === "true" &&
      (await row("svc").getAttribute("class")) === "picked") || "not marked");
  await shotOf(page, "#vms", "cluster-09-svc-explained");

  /* Power on svc: the controller claims a VF of gpu-b for it. gpu-b's agent
   * is paused (SIGSTOP) until the claim has been looked at, well within its
   * 8 s lease: its real QEMU fails at once, as it cannot have a fixture's
   * device, and the claim would be gone before the page's next read.
   * gpu-b's devices are shown first: the page reads them again after the
   * power-on, so the pause need not wait for a list to be drawn. */
  await page.locator('#hosts-body tr[data-host="gpu-b"] button[data-action="pick"]').click();
  await page.waitForFunction((a) => document.getElementById("devices-title").textContent.includes("of gpu-b") &&
    document.querySelector(`#devices-body .dev[data-addr="${a}"]`), VFS[0], { timeout: 20000 });
  const explained = () => sent.filter((r) => r === "GET /v1/vms/svc/explain").length;
  const explainedBefore = explained();
  const gpuB = +opt["stop-pid"];
  let on, got = [];
  const pausedAt = Date.now();
  process.kill(gpuB, "SIGSTOP");
  try {
    on = await nextAnswer(page, "POST", "/v1/vms/svc/start", () =>
      row("svc").locator('button[data-action="start"]').click());
    got = on.body && on.body.devices ? on.body.devices.map((d) => d.address) : [];
    await check("power on: the controller places svc on gpu-b with one VF, and the page says so", async () => {
      if (on.status !== 200 || on.body.host !== "gpu-b" || got.length !== 1 || !VFS.includes(got[0]))
        return `${on.status} ${JSON.stringify(on.body)}`;
      const msg = `svc powered on: placed on gpu-b (epoch ${on.body.epoch}) with ${got[0]}`;
      await page.waitForFunction((w) => document.getElementById("vms-msg").textContent === w, msg, { timeout: 5000 })
        .catch(() => null);
      return (await page.textContent("#vms-msg")) === msg || `shown: ${await page.textContent("#vms-msg")}`;
    });
    await check("power on: svc's row shows host gpu-b, desired on, epoch 1, the VF it holds, not yet reported running; " +
      "Power off offered", async () => {
      const r = await rowMatches("svc", (d) => d.host === "gpu-b" && d.desired === "on" && d.epoch === 1 &&
        d.state === "off" && JSON.stringify(d.held_devices) === JSON.stringify(got), 3000);
      const s = await shown("svc");
      const note = await row("svc").locator(".vm-state small").textContent().catch(() => null);
      return (r === true && s.power.join() === "false,true" && note === "gpu-b has not reported it running yet") ||
        (r === true ? `power ${s.power}, note ${note}` : r);
    });
    /* gpu-b's devices, as the controller has them: the VF's owner is svc. */
    await check(`devices: on gpu-b, the VF svc holds shows svc as its owner`, () => page.waitForFunction((a) => {
      const r = document.querySelector(`#devices-body .dev[data-addr="${a}"] .vm-ref`);
      return r && r.textContent === "svc";
    }, got[0], { timeout: 3000 }).then(() => true));
  } finally {
    process.kill(gpuB, "SIGCONT");
    comment(`gpu-b's agent was paused for ${Date.now() - pausedAt} ms (its lease: 8000)`);
  }
  await shotOf(page, "#vms", "cluster-10-svc-claimed");

  /* gpu-b's agent starts QEMU for real; the start fails, the controller
   * records it and tries the next host: gpu-a has no VF, and svc stays off. */
  await check("start failed: svc's start fails on gpu-b; recorded (host, epoch, error), svc is off, not placed, " +
    "holds nothing; the row shows it", () => rowMatches("svc", (d) => d.host === null && d.desired === "off" &&
    d.state === "off" && d.epoch === 1 && !d.held_devices.length && d.start_failures.length === 1 &&
    d.start_failures[0].host === "gpu-b" && d.start_failures[0].epoch === 1 && !!d.start_failures[0].error, 60000));
  const failedDoc = await vmDoc("svc");
  const failure = failedDoc.start_failures[0] || {};
  comment(`svc's start on gpu-b: ${failure.error}`);
  await check("start failed: under svc's row, a row of its own says where and why: gpu-b, epoch 1, its error as text",
    async () => {
      const li = page.locator('#vms-body tr.vm-failures[data-failures="svc"] li');
      const texts = await li.allTextContents();
      const host = await li.first().locator("strong").textContent().catch(() => null);
      const next = await row("svc").evaluate((r) => r.nextElementSibling && r.nextElementSibling.dataset.failures);
      return (texts.length === 1 && texts[0] === `Start failed on gpu-b (epoch 1): ${failure.error}` &&
        host === "gpu-b" && next === "svc" &&
        (await page.locator("#vms-body tr.vm-failures").count()) === 1) ||
        `${JSON.stringify(texts)}, host ${host}, after svc: ${next}`;
    });
  await check("start failed: it is QEMU's own error, naming the VF it could not have", () =>
    (failure.error.includes("qemu-system-x86_64") && failure.error.includes(`vfio-pci,host=${got[0]}`)) ||
    failure.error);
  await check("start failed: gpu-b's VFs both free again", () => page.waitForFunction(() => {
    const p = document.querySelector('#hosts-body tr[data-host="gpu-b"] li[data-pool="15b3:101c"]');
    return p && p.textContent.includes("2/2 free");
  }, null, { timeout: 20000 }).then(() => true));
  await check(`devices: on gpu-b, the VF svc held has no owner any more`, () => page.waitForFunction((a) => {
    const d = document.querySelector(`#devices-body .dev[data-addr="${a}"]`);
    return d && !d.querySelector(".vm-ref");
  }, got[0], { timeout: 10000 }).then(() => true));
  await page.locator('#hosts-body tr[data-host="gpu-a"] button[data-action="pick"]').click();
  await page.waitForFunction(() => document.getElementById("devices-title").textContent.includes("of gpu-a"));
  /* The giving up is recorded after the failure, once the next host was judged: the page follows the events. */
  await check("events: svc placed, its start failed with gpu-b's error, then given up, newest first", () =>
    eventsShow("svc", ["vm-start-given-up", "vm-start-failed", "vm-placed"], 1, failure.error));
  await check("explain: svc's panel stays open, read again at each change: reported off, not placed, gpu-b would win",
    async () => {
      const want = "policy performance · reported off";
      await page.waitForFunction(([p, w]) => {
        const s = document.querySelector(`${p} h3 small`);
        return s && s.textContent === w;
      }, [panel, want], { timeout: 10000 }).catch(() => null);
      const got = await page.textContent(`${panel} h3 small`).catch(() => null);
      const winner = await page.locator(`${panel} tr.winner`).evaluateAll((rs) => rs.map((r) => r.dataset.verdict));
      return (got === want && explained() >= explainedBefore + 2 && winner.join() === "gpu-b" &&
        (await page.locator(`${panel} tr[data-verdict]`).count()) === hostNames.length) ||
        `"${got}", winner ${winner}, ${explained() - explainedBefore} explain requests since`;
    });
  await shotOf(page, "#vms", "cluster-11-svc-start-failed");

  /* A VM no host can take: three VFs, gpu-b has two, gpu-a none. */
  const refused = await nextAnswer(page, "POST", "/v1/vms/wide/start", () =>
    row("wide").locator('button[data-action="start"]').click());
  const err = refused.body && refused.body.error;
  await check("power on: wide is refused (409), the controller's message shown", async () => {
    if (refused.status !== 409 || !err || !err.detail || !Array.isArray(err.detail.hosts))
      return `${refused.status} ${JSON.stringify(refused.body)}`;
    const msg = `Cannot power on wide: ${err.message}`;
    await page.waitForFunction((w) => document.getElementById("vms-msg").textContent === w, msg, { timeout: 5000 })
      .catch(() => null);
    return ((await page.textContent("#vms-msg")) === msg && err.message.includes("no host can take VM 'wide'")) ||
      `shown: ${await page.textContent("#vms-msg")}`;
  });
  await check("power on: the refusal lists every host with its reason (gpu-b: 2 free, needs 3)", async () => {
    const rows = await verdictRows("#vms-refusal");
    const bad = sameVerdicts(rows, err.detail.hosts);
    const b = rows.find((r) => r[0] === "gpu-b");
    return (!bad.length && rows.length === hostNames.length && err.detail.hosts.length === hostNames.length &&
      b && /2 free 15b3:101c, needs 3/.test(b[2]) && (await page.isVisible("#vms-refusal"))) ||
      bad.join("\n") || JSON.stringify(rows);
  });
  await check("power on: wide stays not placed, off", () =>
    rowMatches("wide", (d) => d.host === null && d.desired === "off", 3000));
  await shotOf(page, "#vms", "cluster-12-wide-refused");

  /* wide's explain: no winner, every host says why. */
  await row("wide").locator('button[data-action="explain"]').click();
  const widePanel = '#vms-body .explain[data-explain="wide"]';
  await page.waitForSelector(`${widePanel} tr[data-verdict]`);
  const wex = await apiGet(page, base, "v1/vms/wide/explain");
  await check("explain: wide's panel replaces svc's: no host would win, each says why", async () => {
    const rows = await verdictRows(widePanel), bad = sameVerdicts(rows, wex.hosts);
    const winners = await page.locator(`${widePanel} tr.winner`).count();
    const why = await page.textContent(`${widePanel} .why`);
    return (!bad.length && rows.length === hostNames.length && !winners && wex.winner === null && why === wex.why &&
      (await page.locator('#vms-body .explain[data-explain="svc"]').count()) === 0 &&
      rows.every((r) => r[1] !== "fits")) || bad.join("\n") || `${JSON.stringify(rows)} / ${why}`;
  });
  await page.locator(`${widePanel} button[data-action="explain-close"]`).click();
  await check("explain: Close takes the panel away", async () =>
    (await page.locator("#vms-body .explain").count()) === 0 || "still there");

  /* probe: no device, the probe guest as its kernel. gpu-b, with the most
   * memory, wins; its agent runs it in a real QEMU under TCG. */
  await row("probe").locator('button[data-action="explain"]').click();
  const probePanel = '#vms-body .explain[data-explain="probe"]';
  await page.waitForSelector(`${probePanel} tr[data-verdict]`);
  const pex = await apiGet(page, base, "v1/vms/probe/explain");
  await check("explain: probe fits both hosts, gpu-b (the most memory) would win", async () => {
    const rows = await verdictRows(probePanel), bad = sameVerdicts(rows, pex.hosts);
    const winner = await page.locator(`${probePanel} tr.winner`).evaluateAll((rs) => rs.map((r) => r.dataset.verdict));
    return (!bad.length && pex.winner === "gpu-b" && winner.join() === "gpu-b" && rows.length === hostNames.length &&
      rows.every((r) => r[1].startsWith("fits"))) || bad.join("\n") || `${JSON.stringify(rows)} / winner ${winner}`;
  });
  const probeOn = await nextAnswer(page, "POST", "/v1/vms/probe/start", () =>
    row("probe").locator('button[data-action="start"]').click());
  await check("power on: probe placed on gpu-b with no device, and the page says so", async () => {
    if (probeOn.status !== 200 || probeOn.body.host !== "gpu-b" || (probeOn.body.devices || []).length)
      return `${probeOn.status} ${JSON.stringify(probeOn.body)}`;
    const msg = `probe powered on: placed on gpu-b (epoch ${probeOn.body.epoch})`;
    await page.waitForFunction((w) => document.getElementById("vms-msg").textContent === w, msg, { timeout: 5000 })
      .catch(() => null);
    return (await page.textContent("#vms-msg")) === msg || `shown: ${await page.textContent("#vms-msg")}`;
  });
  await check("power on: gpu-b's agent reports probe running (its QEMU up), shown without a reload; Power off offered",
    async () => {
      const r = await rowMatches("probe", (d) => d.host === "gpu-b" && d.desired === "on" && d.state === "running" &&
        d.epoch === 1 && !d.held_devices.length && !d.start_failures.length, 90000);
      const s = await shown("probe");
      return (r === true && s.power.join() === "false,true") || (r === true ? `power ${s.power}` : r);
    });
  await check("power on: probe's explain panel stays open, read again: reported running, placed on gpu-b at epoch 1",
    async () => {
      const want = "policy performance · reported running · placed on gpu-b, epoch 1";
      await page.waitForFunction(([p, w]) => {
        const s = document.querySelector(`${p} h3 small`);
        return s && s.textContent === w;
      }, [probePanel, want], { timeout: 10000 }).catch(() => null);
      const got = await page.textContent(`${probePanel} h3 small`).catch(() => null);
      return got === want || `"${got}"`;
    });
  await shotOf(page, "#vms", "cluster-13-probe-running");
  await page.locator(`${probePanel} button[data-action="explain-close"]`).click();

  /* Power off: asked of gpu-b. The probe guest ignores ACPI: gpu-b's agent
   * reports it stopping until its 30 s timeout, then stops QEMU hard. */
  const off = await nextAnswer(page, "POST", "/v1/vms/probe/stop", () =>
    row("probe").locator('button[data-action="stop"]').click());
  await check("power off: asked of gpu-b, the page says so, the refusal of wide gone", async () => {
    if (off.status !== 200) return `${off.status} ${JSON.stringify(off.body)}`;
    await page.waitForFunction(() => document.getElementById("vms-msg").textContent === "probe: power off asked of gpu-b",
      null, { timeout: 5000 }).catch(() => null);
    return ((await page.textContent("#vms-msg")) === "probe: power off asked of gpu-b" &&
      !(await page.isVisible("#vms-refusal"))) || `shown: ${await page.textContent("#vms-msg")}`;
  });
  await check("power off: gpu-b's agent reports probe stopping, shown in amber, still on gpu-b, as powering off",
    async () => {
      const r = await rowMatches("probe", (d) => d.host === "gpu-b" && d.desired === "off" && d.state === "stopping",
        15000);
      if (r !== true) return r;
      const cell = await row("probe").locator(".vm-state").evaluate((c) =>
        [c.querySelector(".badge").classList.contains("warn"), (c.querySelector("small") || {}).textContent]);
      return (cell[0] && cell[1] === "powering off") || JSON.stringify(cell);
    });
  await shotOf(page, "#vms", "cluster-14-probe-stopping");
  await check("power off: after the ACPI timeout probe is off, not placed; Power on offered", () =>
    rowMatches("probe", (d) => d.host === null && d.desired === "off" && d.state === "off", 90000));
  await check("events: probe placed, its stop asked and done, newest first", () =>
    eventsShow("probe", ["vm-stopped", "vm-stop-asked", "vm-placed"]));
  await shotOf(page, "#vms", "cluster-15-probe-off");

  /* Markup in what a VM carries is text on the page. */
  const mark = '<img src="x" onerror="window.hwpassInjected = 1">';
  const tagged = await define("tagged", 1, mark);
  await check("vms: a label with markup is shown as text, in the row and the explain panel", async () => {
    if (tagged.status !== 201) return `${tagged.status} ${JSON.stringify(tagged.body)}`;
    await page.waitForSelector('#vms-body tr[data-vm="tagged"]', { timeout: 10000 });
    await row("tagged").locator('button[data-action="explain"]').click();
    await page.waitForSelector('#vms-body .explain[data-explain="tagged"] tr[data-verdict]');
    const text = await row("tagged").textContent();
    const imgs = await page.locator("#vms-body img, #vms-refusal img").count();
    const ran = await page.evaluate(() => window.hwpassInjected);
    return (text.includes(mark) && !imgs && ran === undefined) || `${imgs} img, ran ${ran}: ${text}`;
  });
  await page.locator('#vms-body button[data-action="explain-close"]').click();
}

async function perf(browser, base) {
  const ctx = await newContext(browser, opt["perf-token"]);
  const page = await ctx.newPage();
  const runs = [];
  for (let i = 0; i < 5; i++) {
    await ready(page, base, 120000);
    runs.push(await page.evaluate(() => window.hwpassTimings));
  }
  const wantDev = +opt.devices, wantVm = +opt.vms;
  await check(`perf: all ${wantDev} PCI functions are in the DOM`, async () => {
    const rows = await page.locator("#devices-body .dev[data-addr]").count();
    return rows === wantDev || `${rows} rows`;
  });
  await check(`perf: all ${wantVm} VMs are in the DOM`, async () => {
    const rows = await page.locator("#vms-body tr[data-vm]").count();
    return rows === wantVm || `${rows} rows`;
  });
  await shot(page, "perf-01-loaded", false);
  const med = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  const render = runs.map((r) => r.render_ms), total = runs.map((r) => r.ready_ms);
  const lines = [
    `render ${wantDev} devices + ${wantVm} VMs: ${med(render).toFixed(1)} ms`,
    `render runs (ms): ${render.map((x) => x.toFixed(1)).join(" ")} (median of ${runs.length} page loads; first ${render[0].toFixed(1)})`,
    `render phases (median ms): ${Object.keys(runs[0].phases).map((k) =>
      `${k} ${med(runs.map((r) => r.phases[k])).toFixed(1)}`).join(", ")}`,
    `navigation to rendered, API fetches included: ${med(total).toFixed(1)} ms (median)`,
    `machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(2)} (1 min) when measured`,
  ];
  lines.forEach(comment);
  fs.writeFileSync(path.join(opt.out, "figures.txt"), lines.join("\n") + "\n");
  await ctx.close();
}

function newContext(browser, token) {
  return browser.newContext({
    extraHTTPHeaders: token ? { Authorization: "Bearer " + token } : {},
    viewport: { width: 1400, height: 900 },
  });
}

(async () => {
  fs.mkdirSync(opt.out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: opt.chromium,
    /* The lab's certificate is made for the run and signed by nobody: it is
     * accepted in the handshake itself. (Playwright's ignoreHTTPSErrors
     * would let Chromium refuse it first, a failed handshake per connection
     * in hwpassd's log.) */
    args: ["--disable-dev-shm-usage", "--disable-gpu", ...(opt.lab ? ["--ignore-certificate-errors"] : [])],
  });
  try {
    if (opt.desktop) await desktop(browser, opt.desktop);
    if (opt.perf) await perf(browser, opt.perf);
    if (opt.lab) await lab(browser, opt.lab);
    if (opt.cluster) await cluster(browser, opt.cluster);
  } catch (e) {
    ok(false, "the test ran to its end", e.stack || e.message);
  } finally {
    await browser.close();
  }
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
})();
