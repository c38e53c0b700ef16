import init, { RealtimeClient } from "/pkg/realtime_wasm.js";

const ALL = ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"];
const $ = (id) => document.getElementById(id);
let client = null;

for (const name of ALL) {
  const label = document.createElement("label");
  label.innerHTML = `<input type="checkbox" value="${name}" ${name === "iframe" ? "" : "checked"}> ${name}`;
  $("transports").append(label);
}

function log(text, kind = "") {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (kind) item.className = kind;
  $("log").prepend(item);
  while ($("log").children.length > 200) $("log").lastChild.remove();
}

function render() {
  $("state").textContent = client ? client.state : "closed";
  $("transport").textContent = client?.transport ?? "–";
  $("session").textContent = client?.sessionId ?? "–";
  const open = client && client.state !== "closed";
  $("connect").disabled = !!open;
  $("close").disabled = !open;
}

await init();

$("connect").addEventListener("click", () => {
  const transports = [...$("transports").querySelectorAll("input:checked")].map((i) => i.value);
  if (transports.length === 0) return log("choose at least one transport", "error");
  client = new RealtimeClient(new URL("/rt", location.href).href, { transports });
  client.on("state", ({ from, to }) => { log(`state ${from} → ${to}`, "meta"); render(); });
  client.on("open", ({ transport }) => log(`open over ${transport}`, "meta"));
  client.on("transport", ({ from, to, reason }) => log(`transport ${from} → ${to}: ${reason}`, "meta"));
  client.on("reconnecting", ({ attempt, delayMs }) => log(`reconnecting (#${attempt}) in ${delayMs} ms`, "meta"));
  client.on("error", (e) => log(`error ${e.code}: ${e.message}`, "error"));
  client.on("close", ({ code, reason }) => { log(`closed ${code} ${reason}`, "meta"); render(); });
  client.on("message", (data, info) => log(`#${info.seq} [${info.transport}] ${typeof data === "string" ? data : `${data.length} bytes`}`));
  render();
});

$("close").addEventListener("click", () => { client?.close(); render(); });

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!client) return log("connect first", "error");
  try { client.send($("text").value); $("text").value = ""; } catch (e) { log(`send: ${e.message}`, "error"); }
});

render();
