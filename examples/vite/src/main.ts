// realtime-wasm in a Vite app: a plain dependency, no plugin, no configuration. Vite turns the
// package's `new URL("realtime_wasm_bg.wasm", import.meta.url)` into a hashed asset by itself.
import init, { RealtimeClient, type TransportName } from "realtime-wasm";

const $ = (id: string) => document.getElementById(id)!;
const log = (text: string) => {
  const item = document.createElement("li");
  item.textContent = text;
  $("log").append(item);
};

// The realtime-server to talk to: ?server=http://127.0.0.1:8080 (default), ?transports=a,b.
const params = new URLSearchParams(location.search);
const server = params.get("server") ?? "http://127.0.0.1:8080";
const transports = params.get("transports")?.split(",") as TransportName[] | undefined;

await init();
const client = new RealtimeClient(`${server}/rt`, transports ? { transports } : {});
document.body.dataset.ready = "true";

const render = () => {
  $("state").textContent = client.state;
  $("transport").textContent = client.transport ?? "–";
};
client.on("state", render);
client.on("open", ({ transport }) => {
  render();
  log(`open over ${transport}`);
  client.emit("echo", { hello: "vite", at: Date.now() });
});
client.on("message", (data, info) => {
  const text = typeof data === "string" ? data : `${data.byteLength} bytes`;
  log(`echo #${info.seq} over ${info.transport}: ${text}`);
});
client.on("echo", (value, info) => log(`event ${info.event}: ${JSON.stringify(value)}`));
client.on("error", (error) => log(`error ${error.code}: ${error.message}`));

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  client.send(($("text") as HTMLInputElement).value);
});
