// A byte-counting TCP proxy on loopback: every byte between the browser and realtime-server passes
// through it and is counted per direction (TCP payload: HTTP request and status lines, headers,
// bodies, chunked framing, WebSocket framing; not TCP/IP headers). It also counts connections and
// HTTP requests by path (read from the request lines going up) and their answers (the response
// heads coming down), so a run can tell how many polls and POSTs it took. realtime-server has no byte counters of its own, hence this.
import { createServer, connect } from "node:net";

/**
 * Follows the HTTP/1.1 requests going up one connection, calling `count("GET /rt/poll")` for
 * each: headers up to the blank line, then `Content-Length` bytes of body, then the next request.
 * After a WebSocket upgrade the rest is frames, not requests.
 */
function requestCounter(count, queue) {
  let buf = ""; // latin1: one char per byte, so body lengths count right
  let skip = 0; // body bytes still to pass over
  let upgraded = false;
  return (chunk) => {
    if (upgraded) return;
    let text = chunk.toString("latin1");
    if (skip > 0) {
      const n = Math.min(skip, text.length);
      skip -= n;
      text = text.slice(n);
    }
    buf += text;
    for (;;) {
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buf.length > 65536) upgraded = true; // not HTTP as we know it: stop looking
        return;
      }
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      const line = /^(\w+) (\/[^ ?]*)/.exec(head);
      if (line) {
        count(`${line[1]} ${line[2]}`);
        queue.push(`${line[1]} ${line[2]}`);
      }
      if (/\r\nupgrade: *websocket/i.test(head)) {
        upgraded = true;
        return;
      }
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const body = length ? Number(length[1]) : 0;
      const n = Math.min(body, buf.length);
      buf = buf.slice(n);
      skip = body - n;
    }
  };
}

/**
 * Follows the HTTP/1.1 responses coming down one connection, in request order, calling
 * `count("GET /rt/poll")` for each answer whose head arrives. Bodies are passed over by their
 * `Content-Length` or their chunked framing (an event stream that ended is followed by more
 * answers: browsers reuse the connection); a `101`, or a body of neither kind, ends the parsing.
 */
function answerCounter(count, queue) {
  let buf = "";
  let skip = 0; // body bytes still to pass over
  let chunked = false; // in a chunked body, at a chunk-size line (once `skip` is 0)
  let done = false;
  return (chunk) => {
    if (done) return;
    buf += chunk.toString("latin1");
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        skip -= n;
        buf = buf.slice(n);
        if (skip > 0) return;
      }
      if (chunked) {
        // `SIZE[;ext]\r\n DATA \r\n`; the last chunk, size 0, is followed by (trailers and) a blank line.
        const eol = buf.indexOf("\r\n");
        if (eol === -1) return;
        const size = parseInt(buf.slice(0, eol), 16);
        if (Number.isNaN(size)) return void (done = true);
        if (size > 0) {
          buf = buf.slice(eol + 2);
          skip = size + 2;
          continue;
        }
        const end = buf.indexOf("\r\n\r\n", eol - 2);
        if (end === -1) return;
        buf = buf.slice(end + 4);
        chunked = false;
        continue;
      }
      const end = buf.indexOf("\r\n\r\n");
      if (end === -1) {
        if (buf.length > 65536) done = true;
        return;
      }
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      const status = /^HTTP\/1\.1 (\d+)/.exec(head);
      // An interim answer (100 Continue) is not the answer to the request.
      if (status && status[1] >= 100 && status[1] < 200 && status[1] !== "101") continue;
      const request = queue.shift();
      if (status && request) count(request);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!status || status[1] === "101") return void (done = true);
      if (length) skip = Number(length[1]);
      else if (/\r\ntransfer-encoding: *chunked/i.test(head)) chunked = true;
      else if (status[1] !== "204" && status[1] !== "304") return void (done = true);
    }
  };
}

export async function startProxy(targetHost, targetPort) {
  const counters = fresh();
  function fresh() {
    return { up: 0, down: 0, connections: 0, requests: {}, answers: {} };
  }
  let current = counters;
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    current.connections++;
    const pending = []; // request keys waiting for their answers, in order
    const requests = requestCounter((key) => {
      current.requests[key] = (current.requests[key] ?? 0) + 1;
    }, pending);
    const answers = answerCounter((key) => {
      current.answers[key] = (current.answers[key] ?? 0) + 1;
    }, pending);
    client.on("data", (chunk) => {
      current.up += chunk.length;
      requests(chunk);
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on("drain", () => client.resume());
    upstream.on("data", (chunk) => {
      current.down += chunk.length;
      answers(chunk);
      if (!client.write(chunk)) upstream.pause();
    });
    client.on("drain", () => upstream.resume());
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    port: server.address().port,
    /** Starts counting from zero. */
    reset() {
      current = fresh();
    },
    /** The counts since the last reset. */
    read() {
      return JSON.parse(JSON.stringify(current));
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((ok) => server.close(ok));
    },
  };
}
