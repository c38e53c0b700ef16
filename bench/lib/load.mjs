// Load clients on loopback for the server figures: N idle sessions per transport (for resident
// memory per session), and a room of N WebSocket sessions for broadcast fan-out. One flavour speaks
// realtime-server's session protocol, the other socket.io's (Engine.IO 4) wire protocol, both with
// the `ws` package and node:http, no client library, so the load client costs the same for both.
import http from "node:http";
import WebSocket from "ws";

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Runs `open(i)` for i in 0..n with at most `parallel` pending at once; resolves to the results. */
async function openAll(n, parallel, open) {
  const out = new Array(n);
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      out[i] = await open(i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return out;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A fresh connection per request: an idle session holds exactly its own socket.
const noAgent = { agent: false };

function get(url, { onData, keepOpen = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, noAgent, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
        if (onData && onData(body, req, res)) resolve({ body, req, res });
      });
      res.on("end", () => resolve({ body, req, res, status: res.statusCode }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (keepOpen) req.setTimeout(0);
  });
}

function post(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { "content-type": "text/plain" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

// ---- realtime-server (session protocol) -------------------------------------------------------------

/** Opens one idle session of `kind` (websocket | sse | longpolling); resolves to { close }. */
async function openRealtime(base, kind) {
  const ws = base.replace(/^http/, "ws");
  if (kind === "websocket") {
    const socket = new WebSocket(`${ws}/rt/ws`, { perMessageDeflate: false });
    await new Promise((ok, fail) => {
      socket.once("message", ok);
      socket.once("error", fail);
    });
    return { close: () => socket.terminate() };
  }
  if (kind === "sse") {
    const { req } = await get(`${base}/rt/sse`, { onData: (body) => body.includes('"t":"o"'), keepOpen: true });
    return { close: () => req.destroy() };
  }
  if (kind === "longpolling") {
    const first = await get(`${base}/rt/poll`);
    const open = JSON.parse(first.body)[0];
    // The held poll: answered only when a message is pending or after 60 s.
    const url = `${base}/rt/poll?sid=${open.sid}&token=${open.token}&after=0&wait=60000`;
    const req = http.get(url, noAgent, (res) => res.resume());
    req.on("error", () => {});
    return { close: () => req.destroy() };
  }
  throw new Error(`unknown kind ${kind}`);
}

// ---- socket.io (Engine.IO 4) ----------------------------------------------------------------------------

async function openSocketIo(base, kind) {
  if (kind === "websocket") {
    const socket = new WebSocket(`${base.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    await new Promise((ok, fail) => {
      socket.on("message", (data) => {
        const text = data.toString();
        if (text.startsWith("0")) socket.send("40");
        else if (text.startsWith("40")) ok();
        else if (text === "2") socket.send("3");
      });
      socket.once("error", fail);
    });
    return { close: () => socket.terminate(), socket };
  }
  if (kind === "longpolling") {
    const url = `${base}/socket.io/?EIO=4&transport=polling`;
    const hello = await get(url);
    const sid = JSON.parse(hello.body.slice(1)).sid;
    const at = `${url}&sid=${sid}`;
    await post(at, "40");
    await get(at); // the namespace's connect answer
    let closed = false;
    let req = null;
    // Held GETs; a ping ("2") is answered with a pong ("3") as Engine.IO wants.
    const hold = () => {
      if (closed) return;
      req = http.get(at, noAgent, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => {
          if (closed) return;
          if (text.includes("2")) post(at, "3").catch(() => {});
          hold();
        });
      });
      req.on("error", () => {});
    };
    hold();
    return {
      close: () => {
        closed = true;
        req?.destroy();
      },
    };
  }
  throw new Error(`socket.io has no ${kind} here`);
}

/**
 * Opens `n` idle sessions of `kind` against `server` ({ url, pid }) and reports the server's RSS
 * before and after: { n, before, after, perSession, openMs }.
 */
export async function idleSessions({ flavour, server, kind, n, rss, settleMs = 1500, parallel = 100 }) {
  const open = flavour === "socket.io" ? openSocketIo : openRealtime;
  // One session first, so lazily allocated per-process things (thread stacks, tables) are in the
  // baseline rather than counted against the sessions.
  const warm = await open(server.url, kind);
  await sleep(300);
  const before = rss(server.pid);
  const t0 = Date.now();
  const sessions = await withTimeout(
    openAll(n, parallel, () => open(server.url, kind)),
    120000,
    `${n} ${kind} sessions`,
  );
  const openMs = Date.now() - t0;
  await sleep(settleMs);
  const after = rss(server.pid);
  for (const s of sessions) s.close();
  warm.close();
  await sleep(200);
  return { n, before, after, perSession: (after - before) / n, openMs };
}

/**
 * Broadcast fan-out: `n` WebSocket sessions join one room, then a publisher publishes `k`
 * messages to it as fast as its socket takes them, `rounds` times. Each round's figure is
 * n * k / (time from the first publish to the last delivery), in messages delivered per second.
 */
export async function fanout({ flavour, server, n = 1000, k = 200, rounds = 5, parallel = 100, timeoutMs = 60000 }) {
  const room = "fan";
  const ws = server.url.replace(/^http/, "ws");
  const realtime = flavour !== "socket.io";
  let roundDone = null;
  let pending = 0;
  let expected = 0;
  const receivers = await openAll(n, parallel, async () => {
    const r = { got: 0, seq: 0 };
    if (realtime) {
      const socket = new WebSocket(`${ws}/rt/ws`, { perMessageDeflate: false });
      r.socket = socket;
      await new Promise((ok, fail) => {
        socket.once("message", ok); // o
        socket.once("error", fail);
      });
      // join, then echo: once the echo is back the join is in effect (upstream is in order).
      await new Promise((ok) => {
        socket.on("message", (data) => {
          const text = data.toString();
          if (text.includes('"e":"echo"')) ok();
        });
        socket.send(JSON.stringify({ t: "e", c: 1, e: "join", v: room }));
        socket.send(JSON.stringify({ t: "e", c: 2, e: "echo", v: 1 }));
      });
      r.seq = 1;
      socket.removeAllListeners("message");
      socket.on("message", (data) => {
        // Count only; a message frame of ours looks like {"t":"e","s":N,"e":"fan",...}.
        const text = data.toString();
        if (text.charCodeAt(6) !== 101 || !text.includes('"e":"fan"')) return; // not an "e" frame
        r.seq++;
        if (++r.got === expected && --pending === 0) roundDone();
      });
    } else {
      const socket = new WebSocket(`${ws}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
      r.socket = socket;
      await new Promise((ok, fail) => {
        socket.on("message", (data) => {
          const text = data.toString();
          if (text.startsWith("0")) socket.send("40");
          else if (text.startsWith("40")) {
            socket.send(`42["join",${JSON.stringify(room)}]`);
            socket.send(`42["echo",1]`);
          } else if (text.startsWith('42["echo"')) ok();
        });
        socket.once("error", fail);
      });
      socket.removeAllListeners("message");
      socket.on("message", (data) => {
        const text = data.toString();
        if (text === "2") return socket.send("3");
        if (!text.startsWith('42["fan"')) return;
        if (++r.got === expected && --pending === 0) roundDone();
      });
    }
    return r;
  });

  // The publisher: a session of its own, not in the room.
  const pub = realtime
    ? new WebSocket(`${ws}/rt/ws`, { perMessageDeflate: false })
    : new WebSocket(`${ws}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
  await new Promise((ok, fail) => {
    pub.on("message", (data) => {
      const text = data.toString();
      if (realtime) ok();
      else if (text.startsWith("0")) pub.send("40");
      else if (text.startsWith("40")) ok();
      else if (text === "2") pub.send("3");
    });
    pub.once("error", fail);
  });
  let c = 0;
  const results = [];
  for (let round = 0; round < rounds; round++) {
    expected += k;
    pending = n;
    const done = new Promise((ok) => (roundDone = ok));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < k; i++) {
      const data = { room, event: "fan", data: { i, pad: "x".repeat(40) } };
      pub.send(realtime ? JSON.stringify({ t: "e", c: ++c, e: "publish", v: data }) : `42["publish",${JSON.stringify(data)}]`);
    }
    await withTimeout(done, timeoutMs, `fan-out round ${round + 1}`);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    results.push({ ms, rate: (n * k) / (ms / 1000) });
    if (realtime) {
      // Acknowledge, so the replay window has room for the next round.
      for (const r of receivers) r.socket.send(`{"t":"a","a":${r.seq}}`);
    }
    await sleep(300);
  }
  pub.terminate();
  for (const r of receivers) r.socket.terminate();
  return { n, k, rounds: results };
}
