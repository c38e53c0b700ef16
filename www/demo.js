// The realtime-wasm demo page: plain ES modules, no framework, no build step.
//
// URL parameters (handy for links and tests): ?transports=websocket,eventsource (ticked, in that
// order), ?fault=ws-refuse,latency=300 (preselected faults), ?connect=1 (connect on load),
// ?room=lobby, ?name=alice.
import init, { RealtimeClient } from "/pkg/realtime_wasm.js";

const TRANSPORTS = [
  ["websocket", "WebSocket: one duplex connection"],
  ["eventsource", "EventSource (server-sent events); sends by POST"],
  ["streaming", "XHR streaming of an event stream; sends by POST"],
  ["iframe", "hidden iframe streaming <script> chunks (opt-in)"],
  ["longpolling", "requests the server holds until it has news"],
  ["polling", "requests at a fixed pause"],
];
const DEFAULT_ORDER = ["websocket", "eventsource", "streaming", "longpolling", "polling"];
const FAULTS = [
  ["ws-refuse", "WebSocket upgrade refused (403)"],
  ["ws-hang", "WebSocket upgrade never answered"],
  ["ws-drop-open", "WebSocket accepted, then dropped at once"],
  ["eventsource-refuse", "EventSource refused (503), XHR streaming allowed"],
  ["sse-refuse", "event stream refused (503): EventSource and streaming"],
  ["stream-buffer", "a proxy buffers streamed responses"],
  ["drop-every", "connection dropped after every N messages", 5],
  ["http-error", "HTTP transports answered with status", 502],
  ["latency", "every downstream write delayed by ms", 300],
];
const MAX_LOG = 300;
const MAX_FILE = 1_000_000; // under realtime-server's 1 MiB limit for one upstream WebSocket message

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const faultKey = `demo-${Math.random().toString(36).slice(2, 10)}`;
let client = null;
let lastSentFile = null;
let joinedRoom = null;
let joinedSession = null;
let faultsInUse = "";
let burstCount = 0;

// ---- small DOM helpers ------------------------------------------------------------------------

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function log(kind, text) {
  const time = new Date().toLocaleTimeString([], { hour12: false });
  const item = el("li", { dataset: { kind } }, el("time", {}, time), el("span", { className: "kind" }, kind), el("span", { className: "text" }, text));
  const list = $("log");
  list.prepend(item);
  while (list.children.length > MAX_LOG) list.lastChild.remove();
}

/** The connection's story in the connection card: transport changes and reconnections. */
function history(kind, text) {
  const time = new Date().toLocaleTimeString([], { hour12: false });
  const list = $("history");
  list.prepend(el("li", { dataset: { kind } }, el("time", {}, time), " ", text));
  while (list.children.length > 6) list.lastChild.remove();
}

const preview = (text, max = 120) => (text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text);
const json = (value) => preview(JSON.stringify(value));

// ---- transports: checkboxes in a reorderable list ---------------------------------------------

function buildTransportList() {
  const wanted = params.get("transports")?.split(",").filter(Boolean);
  const order = wanted ? [...wanted, ...TRANSPORTS.map(([n]) => n).filter((n) => !wanted.includes(n))] : TRANSPORTS.map(([n]) => n);
  const checked = new Set(wanted ?? DEFAULT_ORDER);
  const list = $("transports");
  for (const name of order) {
    const description = TRANSPORTS.find(([n]) => n === name)?.[1];
    if (!description) continue;
    const box = el("input", { type: "checkbox", value: name, checked: checked.has(name), id: `t-${name}` });
    const up = el("button", { type: "button", className: "small", title: `move ${name} up`, ariaLabel: `move ${name} up` }, "↑");
    const down = el("button", { type: "button", className: "small", title: `move ${name} down`, ariaLabel: `move ${name} down` }, "↓");
    const item = el("li", { dataset: { transport: name } },
      el("label", { htmlFor: `t-${name}` }, box, " ", el("code", {}, name), el("small", {}, description)),
      el("span", { className: "move" }, up, down));
    up.addEventListener("click", () => item.previousElementSibling?.before(item));
    down.addEventListener("click", () => item.nextElementSibling?.after(item));
    list.append(item);
  }
}

const chosenTransports = () => [...$("transports").querySelectorAll("input:checked")].map((box) => box.value);

// ---- faults ------------------------------------------------------------------------------------

function buildFaultList() {
  const preset = new Map((params.get("fault") ?? "").split(",").filter(Boolean).map((f) => f.split("=")));
  for (const [name, description, value] of FAULTS) {
    const box = el("input", { type: "checkbox", value: name, id: `f-${name}`, checked: preset.has(name) });
    const label = el("label", { className: "check", htmlFor: `f-${name}` }, box, " ", el("code", {}, name));
    if (value !== undefined) {
      const input = el("input", { type: "number", id: `fv-${name}`, value: preset.get(name) ?? value, min: 0, ariaLabel: `${name} value` });
      label.append("=", input);
    }
    label.append(el("small", {}, description));
    $("fault-list").append(label);
  }
}

function chosenFaults() {
  return FAULTS.filter(([name]) => $(`f-${name}`).checked)
    .map(([name, , value]) => (value === undefined ? name : `${name}=${$(`fv-${name}`).value}`))
    .join(",");
}

async function hook(action) {
  const url = new URL($("url").value, location.href);
  url.pathname = `${url.pathname.replace(/\/$/, "")}/_hooks/${action}`;
  url.search = `?key=${encodeURIComponent(faultKey)}`;
  const response = await fetch(url, { method: "POST" });
  return response.status;
}

async function detectTestHooks() {
  try {
    if ((await hook("lift")) === 204) $("faults").hidden = false;
  } catch {
    // No server, or no hooks: the section stays hidden.
  }
}

function renderFaultStatus(text) {
  $("fault-status").textContent = text;
  $("lift-faults").disabled = !faultsInUse;
  $("arm-faults").disabled = !faultsInUse;
}

// ---- the client ------------------------------------------------------------------------------

function connect(faults = "") {
  disconnect();
  const transports = chosenTransports();
  if (transports.length === 0) {
    log("error", "tick at least one transport");
    return;
  }
  const options = {
    transports,
    upgrade: $("opt-upgrade").checked,
    reconnect: $("opt-reconnect").checked ? { initialDelayMs: 500, maxDelayMs: 5000 } : false,
    connectTimeoutMs: Number($("opt-connect-timeout").value) || 3000,
    pollIntervalMs: Number($("opt-poll-interval").value),
  };
  if (faults) options.query = { fault: faults, fault_key: faultKey };
  faultsInUse = faults;
  renderFaultStatus(faults ? `Faults armed: ${faults}` : "No faults in use.");
  try {
    client = new RealtimeClient($("url").value, options);
  } catch (error) {
    log("error", `new RealtimeClient: ${error.message}`);
    client = null;
    render();
    return;
  }
  window.demoClient = client; // for the console
  log("meta", `new RealtimeClient(${JSON.stringify($("url").value)}, ${JSON.stringify(options)})`);
  client.on("state", ({ from, to }) => {
    log("state", `${from} → ${to}`);
    render();
  });
  client.on("open", ({ transport }) => {
    log("open", `open over ${transport}`);
    rejoin();
    render();
  });
  client.on("transport", ({ from, to, reason }) => {
    const text = `${from ?? "none"} → ${to}: ${reason}`;
    log("transport", text);
    history("transport", text);
    $("last-change").textContent = text;
    render();
  });
  client.on("reconnecting", ({ attempt, delayMs, transport }) => {
    const text = `reconnecting: attempt ${attempt} in ${delayMs} ms, starting with ${transport}`;
    log("reconnecting", text);
    history("reconnecting", text);
  });
  client.on("error", (error) => {
    log("error", `${error.code}: ${error.message}`);
    history("error", `${error.code}: ${error.message}`);
  });
  client.on("close", ({ code, reason, wasClean }) => {
    log("close", `code ${code}${reason ? ` (${reason})` : ""}${wasClean ? "" : ", not clean"}`);
    render();
  });
  client.on("message", (data, info) => {
    if (typeof data === "string") {
      log("message", `#${info.seq ?? "–"} via ${info.transport}: ${preview(data)}`);
    } else {
      const same = lastSentFile && sameBytes(lastSentFile, data) ? ", identical to the file sent" : "";
      log("message", `#${info.seq ?? "–"} via ${info.transport}: binary, ${data.byteLength} bytes${same}`);
    }
  });
  client.on("echo", (value, info) => log("event", `#${info.seq} echo via ${info.transport}: ${json(value)}`));
  client.on("burst", (value, info) => {
    // Big bursts log every hundredth event, to keep the log readable; the stats count them all.
    const n = value.n;
    if (burstCount <= 100 || n === 1 || n % 100 === 0 || n === burstCount) log("event", `#${info.seq} burst n=${n} via ${info.transport}`);
  });
  client.on("chat", (value, info) => {
    const from = typeof value?.from === "string" ? value.from : "?";
    const text = typeof value?.text === "string" ? value.text : JSON.stringify(value);
    const mine = from === $("chat-name").value;
    $("chat-log").prepend(el("li", { className: mine ? "mine" : "" }, el("b", {}, from), " ", text));
    log("event", `#${info.seq} chat via ${info.transport} from ${from}`);
  });
  render();
}

function disconnect() {
  if (!client) return;
  const old = client;
  client = null;
  old.close();
  old.free(); // releases the wasm side at once instead of at garbage collection
  joinedSession = null;
  $("history").replaceChildren();
  $("last-change").textContent = "–";
  render();
}

function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function attempt(what, action) {
  if (!client) {
    log("error", `${what}: connect first`);
    return false;
  }
  try {
    action(client);
    return true;
  } catch (error) {
    log("error", `${what}: ${error.code ?? ""} ${error.message}`);
    return false;
  }
}

// ---- chat rooms ----------------------------------------------------------------------------------

function rejoin() {
  // Rooms belong to the server-side session: a resumed session keeps them, a new one does not.
  if (joinedRoom && client && client.sessionId !== joinedSession) {
    attempt("join", (c) => c.emit("join", joinedRoom));
    joinedSession = client.sessionId;
  }
}

function renderChat() {
  $("join").disabled = !!joinedRoom;
  $("leave").disabled = !joinedRoom;
  $("chat-text").disabled = !joinedRoom;
  $("chat-send").disabled = !joinedRoom;
  $("chat-room").disabled = !!joinedRoom;
}

// ---- rendering -----------------------------------------------------------------------------------

const STAT_NAMES = ["messagesIn", "messagesOut", "bytesIn", "bytesOut", "reconnects", "fallbacks", "upgrades"];

function render() {
  const state = client ? client.state : "closed";
  $("state").textContent = state;
  $("state").dataset.state = state;
  $("transport").textContent = client?.transport ?? "–";
  $("session").textContent = client?.sessionId ?? "–";
  $("connect").disabled = !!client && state !== "closed";
  $("close").disabled = !client || state === "closed";
  renderStats();
  renderChat();
}

function renderStats() {
  if (!client) return;
  const stats = client.stats();
  const list = $("stats");
  if (list.children.length === 0) {
    for (const name of STAT_NAMES) list.append(el("div", {}, el("dt", {}, name), el("dd", { id: `stat-${name}` }, "0")));
  }
  for (const name of STAT_NAMES) $(`stat-${name}`).textContent = stats[name].toLocaleString();
}

// ---- wiring ------------------------------------------------------------------------------------

$("url").value = new URL("/rt", location.href).href;
$("chat-name").value = params.get("name") ?? `guest-${Math.floor(Math.random() * 900 + 100)}`;
if (params.has("room")) $("chat-room").value = params.get("room");
buildTransportList();
buildFaultList();

$("connect").addEventListener("click", () => connect(""));
$("close").addEventListener("click", () => {
  client?.close();
  render();
});

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (attempt("send", (c) => c.send(text))) {
    log("sent", text);
    $("text").value = "";
  }
});

$("send-file").addEventListener("click", async () => {
  const file = $("file").files[0];
  if (!file) {
    log("error", "choose a file first");
    return;
  }
  if (file.size > MAX_FILE) {
    log("error", `${file.name} is ${file.size} bytes; realtime-server takes messages up to ${MAX_FILE} bytes`);
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (attempt("send", (c) => c.send(bytes))) {
    lastSentFile = bytes;
    log("sent", `file ${file.name}: binary, ${bytes.byteLength} bytes`);
  }
});

$("emit-echo").addEventListener("click", () => {
  const value = { text: "hi", n: Math.floor(Math.random() * 1000), at: new Date().toISOString() };
  if (attempt("emit", (c) => c.emit("echo", value))) log("sent", `emit echo ${json(value)}`);
});

$("burst").addEventListener("click", () => {
  const count = Number($("burst-count").value) || 100;
  burstCount = count;
  if (attempt("emit", (c) => c.emit("burst", { count, size: 16 }))) log("sent", `emit burst × ${count}`);
});

$("join").addEventListener("click", () => {
  const room = $("chat-room").value.trim();
  if (!room) return;
  if (attempt("join", (c) => c.emit("join", room))) {
    joinedRoom = room;
    joinedSession = client.sessionId;
    log("sent", `joined room ${room}`);
    $("chat-log").prepend(el("li", { className: "meta" }, `you joined ${room} as ${$("chat-name").value}`));
    renderChat();
  }
});

$("leave").addEventListener("click", () => {
  const room = joinedRoom;
  if (room && attempt("leave", (c) => c.emit("leave", room))) log("sent", `left room ${room}`);
  joinedRoom = null;
  $("chat-log").prepend(el("li", { className: "meta" }, `you left ${room}`));
  renderChat();
});

$("chat-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("chat-text").value;
  const data = { from: $("chat-name").value, text };
  if (joinedRoom && attempt("publish", (c) => c.emit("publish", { room: joinedRoom, event: "chat", data }))) $("chat-text").value = "";
});

$("apply-faults").addEventListener("click", async () => {
  const faults = chosenFaults();
  if (faults) await hook("arm"); // a key lifted earlier applies again
  connect(faults);
});
$("lift-faults").addEventListener("click", async () => {
  const status = await hook("lift");
  renderFaultStatus(status === 204 ? `Faults lifted (${faultsInUse}): the client should recover and move up.` : `lift failed: HTTP ${status}`);
  log("meta", `faults lifted: ${faultsInUse}`);
});
$("arm-faults").addEventListener("click", async () => {
  const status = await hook("arm");
  renderFaultStatus(status === 204 ? `Faults armed again: ${faultsInUse}` : `arm failed: HTTP ${status}`);
  log("meta", `faults armed: ${faultsInUse}`);
});

$("clear-log").addEventListener("click", () => $("log").replaceChildren());
$("lifecycle-only").addEventListener("change", (event) => $("log").classList.toggle("lifecycle-only", event.target.checked));

setInterval(renderStats, 500);
render();

try {
  await init();
  document.body.dataset.ready = "true";
  log("meta", "realtime-wasm loaded");
} catch (error) {
  log("error", `could not load /pkg/realtime_wasm.js: ${error.message} (run bash scripts/demo.sh)`);
}
await detectTestHooks();
if (params.get("connect") === "1") {
  const faults = chosenFaults();
  if (faults) await hook("arm");
  connect(faults);
}
