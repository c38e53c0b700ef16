// Type-checked by tests/e2e/declarations.test.mjs with `tsc --noEmit --strict` against the built
// pkg/realtime_wasm.d.ts (tsconfig.json maps `realtime-wasm` to it). Every line without
// `@ts-expect-error` must compile; every line after one must NOT compile (tsc reports an unused
// directive otherwise), so this file pins down how exact the declarations are.
import init, {
  RealtimeClient,
  type ClientStateName,
  type JsonValue,
  type MessageInfo,
  type RealtimeClientOptions,
  type RealtimeError,
  type RealtimeStats,
  type TransportName,
  type Unsubscribe,
} from "realtime-wasm";

export async function main(): Promise<void> {
  const output = await init();
  const memory: WebAssembly.Memory = output.memory;
  void memory;
  await init({ module_or_path: new URL("realtime_wasm_bg.wasm", import.meta.url) });

  const options: RealtimeClientOptions = {
    transports: ["websocket", "eventsource", "streaming", "iframe", "longpolling", "polling"],
    protocol: "session",
    query: { ticket: "abc" },
    connectTimeoutMs: 5000,
    pollIntervalMs: 1000,
    longPollTimeoutMs: 25000,
    heartbeatTimeoutMs: 35000,
    reconnect: { initialDelayMs: 500, maxDelayMs: 15000, maxAttempts: null },
    upgrade: true,
    withCredentials: false,
    sendUrl: "https://example.com/send",
    maxQueuedMessages: 1000,
    autoConnect: true,
  };
  const client = new RealtimeClient("http://127.0.0.1:8080/rt", options);
  new RealtimeClient("/rt");
  new RealtimeClient("/rt", { reconnect: false });

  // Built-in events: the listener's arguments are inferred from the event name.
  const off: Unsubscribe = client.on("open", ({ transport }) => {
    const t: TransportName = transport;
    void t;
  });
  off();
  client.on("message", (data, info) => {
    if (typeof data === "string") data.toUpperCase();
    else data.byteLength.toFixed();
    const seq: number | null = info.seq;
    const id: string | null = info.id;
    const event: string | null = info.event;
    const via: TransportName = info.transport;
    void [seq, id, event, via];
  });
  client.on("close", ({ code, reason, wasClean }) => {
    const c: number = code;
    const r: string = reason;
    const w: boolean = wasClean;
    void [c, r, w];
  });
  client.on("error", (error) => {
    const e: RealtimeError = error;
    const message: string = error.message;
    if (error.code === "gap" || error.code === "connect_failed") void message;
    void e;
  });
  client.on("transport", ({ from, to, reason }) => {
    const f: TransportName | null = from;
    const t: TransportName = to;
    void [f, t, reason.length];
  });
  client.on("reconnecting", ({ attempt, delayMs, transport }) => void [attempt + delayMs, transport]);
  client.on("state", ({ from, to }) => {
    const states: ClientStateName[] = [from, to];
    void states;
  });
  // Named server events: a JSON value and where it came from.
  const onChat = (value: JsonValue, info: MessageInfo) => void [value, info.event];
  client.on("chat", onChat);
  client.off("chat", onChat);
  const onOpen = ({ transport }: { transport: TransportName }) => void transport;
  client.on("open", onOpen);
  client.off("open", onOpen);

  client.send("text");
  client.send(new Uint8Array([1, 2, 3]));
  client.send(new ArrayBuffer(8));
  client.emit("chat", { text: "hi", n: 1, ok: true, tags: ["a"], nested: { none: null } });
  client.emit("join", "lobby");
  client.connect();
  client.close();
  client.close(4000, "done");

  const state: ClientStateName = client.state;
  const transport: TransportName | null = client.transport;
  const session: string | null = client.sessionId;
  const stats: RealtimeStats = client.stats();
  const counters: number[] = [stats.messagesIn, stats.messagesOut, stats.bytesIn, stats.bytesOut, stats.reconnects, stats.fallbacks, stats.upgrades];
  void [state, transport, session, counters];
  client.free();

  // ---- what the declarations must reject ----
  // @ts-expect-error unknown option key
  new RealtimeClient("/rt", { transport: ["websocket"] });
  // @ts-expect-error unknown transport name
  new RealtimeClient("/rt", { transports: ["smoke-signals"] });
  // @ts-expect-error wrong option type
  new RealtimeClient("/rt", { connectTimeoutMs: "5000" });
  // @ts-expect-error reconnect is false or an object
  new RealtimeClient("/rt", { reconnect: true });
  // @ts-expect-error query values are strings
  new RealtimeClient("/rt", { query: { n: 1 } });
  // @ts-expect-error the url is a string
  new RealtimeClient(42);
  // @ts-expect-error open's listener gets { transport }, not a string
  client.on("open", (event: string) => void event);
  // @ts-expect-error message data is string | Uint8Array, not only string
  client.on("message", (data: string) => void data);
  // @ts-expect-error no such property on the close event
  client.on("close", (event) => void event.status);
  // @ts-expect-error error codes are a closed set
  client.on("error", (error) => error.code === "timeout");
  // @ts-expect-error a named-event value is JSON, not a number
  client.on("chat", (value: number) => void value);
  // @ts-expect-error send takes text or bytes
  client.send(42);
  // @ts-expect-error emit takes JSON values only
  client.emit("chat", () => 1);
  // @ts-expect-error emit needs a string event name
  client.emit(1, "x");
  // @ts-expect-error state is read-only
  client.state = "open";
  // @ts-expect-error not a state
  if (client.state === "opened") void 0;
  // @ts-expect-error stats are numbers
  const wrong: string = client.stats().messagesIn;
  void wrong;
}
