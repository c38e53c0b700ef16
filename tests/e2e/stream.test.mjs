// The event-stream readers of src/js/client.js, in Node (no browser, no server):
//  - `plainEvents`, the fast path for the plain shape realtime-server writes: what it returns for
//    every way a response can arrive in pieces, and that it declines every other shape where that
//    shape starts (the full parser then takes over from there);
//  - `EventStream`, the parser by the HTML standard's rules ("event stream interpretation"): the
//    corner cases of the Rust parser it replaced (src/sse.rs, removed with the move to
//    JavaScript), checked against a small reference implementation written from the standard, and
//    that every way of cutting a stream into chunks gives the events of the whole stream;
//  - that the two read the same data from plain-shaped streams.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EventStream, plainEvents } from "../../src/js/client.js";

// ---- helpers ----------------------------------------------------------------------------------------

/** A deterministic pseudo-random generator (mulberry32): the same streams on every run. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (rand, list) => list[Math.floor(rand() * list.length)];

/** `text` cut at `cuts` (ascending offsets). */
function pieces(text, cuts) {
  const out = [];
  let at = 0;
  for (const cut of cuts) {
    out.push(text.slice(at, cut));
    at = cut;
  }
  out.push(text.slice(at));
  return out;
}

/** `text` in pieces of `size` code units. */
function every(text, size) {
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** The events a new `EventStream` emits for `chunks`, as [data, type, lastEventId]. */
function parse(chunks) {
  const events = [];
  const parser = new EventStream((data, type, id) => events.push([data, type, id]));
  for (const chunk of [].concat(chunks)) parser.feed(chunk);
  return events;
}

/**
 * The HTML standard's "interpreting an event stream", written out on the whole text at once
 * (independent of how `EventStream` carries state across chunks): the events, as
 * [data, type, lastEventId]. The text after the last line end is an unfinished line: ignored.
 */
function reference(text) {
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop();
  const events = [];
  let data = "", type = "", lastEventId = "";
  for (const line of lines) {
    if (line === "") {
      if (data !== "") events.push([data.endsWith("\n") ? data.slice(0, -1) : data, type || "message", lastEventId]);
      data = type = "";
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data += `${value}\n`;
    else if (field === "id" && !value.includes("\0")) lastEventId = value;
  }
  return events;
}

/** [data, "message", id] */
const message = (data, id = "") => [data, "message", id];

// ---- streams ----------------------------------------------------------------------------------------

const PADDING = `:${" ".repeat(2047)}\n\n`;

/** An event as realtime-server writes it: `id:` for messages, one `data:` line, a blank line. */
const event = (json, seq) => `${seq === undefined ? "" : `id: ${seq}\n`}data: ${json}\n\n`;

/** Frames of a few kinds and sizes, JSON text (newlines and CRs escaped, as JSON has them). */
const FRAMES = [
  '{"t":"o","sid":"s1","token":"k","ack":0,"hb":25000}',
  '{"t":"m","s":1,"d":"hello"}',
  '{"t":"e","s":2,"e":"burst","v":{"n":1,"pad":"xxxx"}}',
  '{"t":"h","ts":1700000000000,"s":2}',
  '{"t":"m","s":3,"d":"line\\nbreak\\r\\nand \\ud83d\\ude00 and \\ufffd"}',
  `{"t":"m","s":4,"d":"${"y".repeat(3000)}"}`,
  '{"t":"m","s":5,"d":"caf\u00e9 \u20ac \u{1F600}: not escaped"}',
  '{"t":"a","a":7}',
];
const EXPECTED = FRAMES.map((f) => JSON.parse(f));

/** A response of realtime-server's: the 2 KiB prelude, then every frame, a comment among them. */
function serverStream() {
  let text = PADDING;
  FRAMES.forEach((json, i) => {
    const parsed = JSON.parse(json);
    text += event(json, parsed.t === "m" || parsed.t === "e" ? parsed.s : undefined);
    if (i === 3) text += ": a comment between events\n\n";
  });
  return text;
}

/**
 * The Rust parser's test stream (src/sse.rs, `RICH`), as bytes: every rule at least once (BOM, the
 * three line ends, CR then CRLF too, 2-, 3- and 4-byte characters, malformed bytes, comments,
 * fields without a colon, one space stripped, an `id` with NUL, an event without data, `retry`s,
 * case-sensitive names, an unfinished event at the end).
 */
const RICH_BYTES = Uint8Array.from(
  "\xEF\xBB\xBF: prelude\r\n" +
    "retry: 2500\n" +
    "id: 1\r" +
    "data: caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\r\n" +
    "data:second\n" +
    "\n" +
    "event: tick\r\n" +
    "data\r" +
    "\r\n" +
    "id: bad\x00id\n" +
    "data: bad \xFF byte \xE2\x82 cut\xC3\n\n" +
    "event: dropped\n" +
    "id: 7\n" +
    "\r" +
    "data:  two spaces\n" +
    "Data: ignored\n" +
    "retry: 12x\n" +
    "unknown: field\n" +
    "data: x:y\r\n\r\n" +
    "id: 8\n" +
    "data: unfinished\n",
  (c) => c.charCodeAt(0),
);
/** As the browser decodes it (one U+FFFD per malformed sequence), the byte-order mark kept. */
const RICH = new TextDecoder("utf-8", { ignoreBOM: true }).decode(RICH_BYTES);
const RICH_EVENTS = [
  message("caf\u00e9 \u20ac \u{1F600}\nsecond", "1"),
  ["", "tick", "1"],
  message("bad \uFFFD byte \uFFFD cut\uFFFD", "1"),
  message(" two spaces\nx:y", "7"),
];

/** A stream of random lines, of every kind the standard distinguishes, in every line end. */
function randomStream(rand, { lineEnds = ["\n", "\r", "\r\n"], length = 12 } = {}) {
  const names = ["data", "data", "data", "event", "id", "retry", "Data", "data ", "foo", "", "\uFEFFdata"];
  const separators = [":", ": ", ":  ", "", " :"];
  const values = ["", "x", "a b", "caf\u00e9", "\u{1F600}", "\0", "1\0", ":", " ", "\uFFFD", "7"];
  let text = rand() < 0.2 ? "\uFEFF" : "";
  for (let i = 0; i < length; i++) {
    const r = rand();
    if (r < 0.25) text += ""; // a blank line
    else if (r < 0.35) text += `:${pick(rand, values)}`;
    else text += pick(rand, names) + pick(rand, separators) + pick(rand, values);
    text += pick(rand, lineEnds);
  }
  // Sometimes an unfinished line at the end.
  if (rand() < 0.3) text += `data: ${pick(rand, values)}`;
  return text;
}

/** A random stream of the plain shape: comment and `id:` lines, at most one `data:` line. */
function randomPlainStream(rand, events = 10) {
  const values = ["", "x", " leading space", "a:b", "{\"t\":\"a\",\"a\":1}", "caf\u00e9 \u{1F600}", "\uFFFD", "\0"];
  let text = rand() < 0.3 ? PADDING : "";
  for (let i = 0; i < events; i++) {
    const lines = Math.floor(rand() * 3);
    for (let j = 0; j < lines; j++) text += `${pick(rand, [":", ": ", "id:", "id: "])}${pick(rand, values)}\n`;
    if (rand() < 0.8) text += `${pick(rand, ["data:", "data: "])}${pick(rand, values)}\n`;
    text += "\n";
    if (rand() < 0.1) text += "\n";
  }
  return text;
}

// The Rust parser's test streams (decoded text), each read whole by `reference` as it is.
const RUST_STREAMS = [
  "data: a\ndata: b\n\n",
  "data: a\rdata: b\r\r",
  "data: a\r\ndata: b\r\n\r\n",
  "data: a\n\rdata: b\r\r",
  "\uFEFF\uFEFFdata: a\n\n",
  "data:a\n\ndata: a\n\ndata:  a \n\ndata: a\ndata:\ndata\n\ndata\n\ndata: {\"a\":1}\n\n",
  ":\n: data: x\n\nData: x\ndata : x\nfoo: x\nfoo\n\n: c\ndata: x\n: c\n\n",
  "event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\nevent\ndata: 4\n\nevent: a\n\ndata: 1\n\n",
  "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\nid: x\0y\ndata: d\n\nid: 3 \ndata: e\n\n",
  "id: 1\ndata: a\n\nid: 2\nevent: e\ndata: b\n",
];

/** The streams the split tests go through, each small enough for every pair of cuts. */
function smallStreams() {
  const rand = random(7);
  const streams = [RICH, ...RUST_STREAMS];
  for (let i = 0; i < 60; i++) streams.push(randomStream(rand));
  return streams;
}

// ---- plainEvents ------------------------------------------------------------------------------------

/**
 * Feeds `text` to `plainEvents` as a response that grows at `cuts`, as the streaming transport
 * does: the events read, where it stopped, and whether it declined there.
 */
function readPlain(text, cuts) {
  const events = [];
  let from = 0;
  for (const end of [...cuts, text.length]) {
    const seen = text.slice(0, end);
    const batch = plainEvents(seen, from);
    if (batch === undefined) return { events, from, declined: true };
    const [data, next] = batch;
    assert.ok(Array.isArray(data), "an array of the events' data");
    assert.ok(next >= from && next <= end, `next event at ${next}, outside ${from}..${end}`);
    // It stops where an event ends: after a blank line, never inside an event.
    if (next > from) assert.ok(seen.slice(0, next).endsWith("\n\n"), `next event at ${next}, not after a blank line`);
    if (next === from) assert.deepEqual(data, [], "no events without reading anything");
    events.push(...data);
    from = next;
  }
  return { events, from, declined: false };
}

/** The frames of what `readPlain` read: each event's data is one JSON value. */
const frames = (events) => events.map((data) => JSON.parse(data));

describe("plainEvents", () => {
  test("a whole response: every frame, in order, nothing left", () => {
    const text = serverStream();
    const { events, from, declined } = readPlain(text, []);
    assert.equal(declined, false);
    assert.deepEqual(frames(events), EXPECTED);
    assert.equal(from, text.length);
    // The client reads a batch as one array: the brackets and commas are all it adds.
    assert.deepEqual(JSON.parse(`[${events}]`), EXPECTED);
  });

  test("cut at every position: every frame once, none lost", () => {
    const text = serverStream();
    for (let cut = 0; cut <= text.length; cut++) {
      const { events, from, declined } = readPlain(text, [cut]);
      assert.equal(declined, false, `declined when cut at ${cut}`);
      assert.deepEqual(frames(events), EXPECTED, `cut at ${cut}`);
      assert.equal(from, text.length, `cut at ${cut}`);
    }
  });

  test("cut at every position, the first part alone: exactly the events it completes", () => {
    const text = serverStream();
    // Where each event ends, and the frames complete there (the prelude and the comment are
    // events without data).
    const ends = [];
    let count = 0;
    for (let i = text.indexOf("\n\n"); i >= 0; i = text.indexOf("\n\n", i + 1)) {
      const start = ends.length ? ends.at(-1).end : 0;
      if (text.slice(start, i).includes("data: ")) count++;
      ends.push({ end: i + 2, count });
    }
    assert.equal(count, FRAMES.length);
    for (let cut = 0; cut <= text.length; cut++) {
      const complete = ends.filter(({ end }) => end <= cut).at(-1) ?? { end: 0, count: 0 };
      const [data, next] = plainEvents(text.slice(0, cut), 0);
      assert.equal(next, complete.end, `cut at ${cut}`);
      assert.deepEqual(frames(data), EXPECTED.slice(0, complete.count), `cut at ${cut}`);
    }
  });

  test("arriving a few bytes at a time", () => {
    const text = serverStream();
    for (const size of [1, 2, 3, 5, 7, 64, 1000]) {
      const cuts = [];
      for (let i = size; i < text.length; i += size) cuts.push(i);
      const { events, from, declined } = readPlain(text, cuts);
      assert.equal(declined, false, `${size} at a time`);
      assert.deepEqual(frames(events), EXPECTED, `${size} at a time`);
      assert.equal(from, text.length, `${size} at a time`);
    }
  });

  test("arriving in random pieces", () => {
    const text = serverStream();
    const rand = random(1);
    for (let run = 0; run < 50; run++) {
      const cuts = [];
      for (let i = 0; i < text.length; i += 1 + Math.floor(rand() * 300)) if (i) cuts.push(i);
      assert.deepEqual(frames(readPlain(text, cuts).events), EXPECTED, `cuts ${cuts}`);
    }
  });

  test("a partial event is left for later", () => {
    const text = `${event('{"t":"m","s":1,"d":"a"}', 1)}id: 2\ndata: {"t":"m","s":2,"d":"b"}\n`;
    const [events, end] = plainEvents(text, 0);
    assert.deepEqual(events, ['{"t":"m","s":1,"d":"a"}']);
    assert.equal(text.slice(end), 'id: 2\ndata: {"t":"m","s":2,"d":"b"}\n');
    // Read again from there once it is complete.
    assert.deepEqual(plainEvents(`${text}\n`, end), [['{"t":"m","s":2,"d":"b"}'], text.length + 1]);
  });

  test("nothing complete yet: no frames, nothing consumed", () => {
    assert.deepEqual(plainEvents("data: {", 0), [[], 0]);
    assert.deepEqual(plainEvents("", 0), [[], 0]);
    assert.deepEqual(plainEvents("id: 1\ndata: {}\n", 0), [[], 0]);
    const text = event("{}");
    assert.deepEqual(plainEvents(text, text.length), [[], text.length]);
    assert.deepEqual(plainEvents(`${text}data: {}\n`, text.length), [[], text.length]);
  });

  test("data without the space after the colon, one space stripped, blank lines between events", () => {
    const text = 'data:{"t":"a","a":1}\n\n\n\ndata: {"t":"a","a":2}\n\ndata:  x\n\ndata:\n\ndata: \n\n';
    const [events, end] = plainEvents(text, 0);
    assert.deepEqual(events, ['{"t":"a","a":1}', '{"t":"a","a":2}', " x", "", ""]);
    assert.equal(end, text.length);
  });

  test("comment and id lines, and events without data, give no events of their own", () => {
    const text = ": c\nid: 1\nid:2\n:\n\nid: 3\n\n: only\n\n:x\nid: 4\ndata: d\n\n";
    assert.deepEqual(plainEvents(text, 0), [["d"], text.length]);
  });

  // Each shape `plainEvents` does not read, as an event of its own.
  const FOREIGN = {
    "CR LF line ends": 'data: {"t":"a","a":1}\r\n\r\n',
    "CR line ends": 'data: {"t":"a","a":1}\r\r',
    "a CR in a partial event": "data: {\r",
    "a CR ending a comment": ': c\r\ndata: {"t":"a","a":1}\n\n',
    "an event type": 'event: burst\ndata: {"t":"a","a":1}\n\n',
    "a retry field": 'retry: 1000\ndata: {"t":"a","a":1}\n\n',
    "data over two lines": "data: [1,\ndata: 2]\n\n",
    "a comment after the data": 'data: {"t":"a","a":1}\n:later\n\n',
    "an id after the data": 'data: {"t":"a","a":1}\nid: 3\n\n',
    "a field without a colon": 'data\ndata: {"t":"a","a":1}\n\n',
    "a byte order mark": '\uFEFFdata: {"t":"a","a":1}\n\n',
    "an unknown field": 'foo: 1\ndata: {"t":"a","a":1}\n\n',
    "a field name in capitals": 'Data: {"t":"a","a":1}\n\n',
    "an id without a colon": 'id\ndata: {"t":"a","a":1}\n\n',
  };
  const GOOD = event('{"t":"m","s":1,"d":"a"}', 1);

  test("shapes it does not read are declined, at the event where they start, however they arrive", () => {
    for (const [what, other] of Object.entries(FOREIGN)) {
      // At the start of the response and after an event of the plain shape.
      for (const before of ["", GOOD]) {
        const at = before.length;
        const read = before ? [['{"t":"m","s":1,"d":"a"}'], at] : [[], 0];
        const text = before + other + GOOD;
        const where = `${what}${before ? " after an event" : " at the start"}`;
        // From its own start, and from the start of the response: declined.
        assert.equal(plainEvents(text, at), undefined, where);
        assert.equal(plainEvents(text, 0), undefined, where);
        // While it arrives: the events before it read, then declined once its line ends show a
        // CR or it is complete; never a part of it read as an event.
        for (let k = 0; k <= other.length; k++) {
          const part = other.slice(0, k);
          const declined = part.includes("\r") || part.includes("\n\n");
          const whole = plainEvents(before + part, 0);
          const rest = plainEvents(before + part, at);
          if (declined) {
            assert.equal(whole, undefined, `${where}, ${k} of it`);
            assert.equal(rest, undefined, `${where}, ${k} of it`);
          } else {
            assert.deepEqual(whole, read, `${where}, ${k} of it`);
            assert.deepEqual(rest, [[], at], `${where}, ${k} of it`);
          }
        }
        // Arriving in pieces: it reads up to the foreign event and stops there.
        for (let cut = 0; cut <= text.length; cut++) {
          const { events, from, declined } = readPlain(text, [cut]);
          assert.equal(declined, true, `${where}, cut at ${cut}`);
          assert.ok(from <= at, `${where}, cut at ${cut}: read past its start (${from} > ${at})`);
          assert.deepEqual(events, read[0].slice(0, from ? 1 : 0), `${where}, cut at ${cut}`);
        }
      }
    }
  });

  test("declined where a foreign shape starts, the parser taking over from there reads the rest", () => {
    // What the streaming transport does: `plainEvents` while it reads, then a new `EventStream`
    // on the text from the event it declined. Together: the events of the whole stream.
    // Not for a byte-order mark after the start: a new `EventStream` strips a BOM at its own start,
    // where an EventSource reads a field named "\uFEFFdata" (unknown) and dispatches nothing, so
    // this handover reads an event the standard drops. Only a broken server writes one there.
    for (const [what, other] of Object.entries(FOREIGN)) {
      for (const before of ["", GOOD, PADDING + GOOD]) {
        if (what === "a byte order mark" && before) continue;
        const text = before + other + GOOD + other + GOOD;
        const want = reference(text).map(([data]) => data);
        assert.ok(want.length >= 1, what);
        for (let cut = 0; cut <= text.length; cut += 1) {
          const { events, from, declined } = readPlain(text, [cut]);
          assert.equal(declined, true, what);
          const rest = parse(text.slice(from)).map(([data]) => data);
          assert.deepEqual([...events, ...rest], want, `${what} after ${JSON.stringify(before.slice(-20))}, cut at ${cut}`);
        }
      }
    }
  });

  test("a stream that turns to CR LF midway is handed over where the change starts", () => {
    const plain = PADDING + event('{"t":"o","sid":"s","token":"k","ack":0,"hb":1}');
    const crlf = event('{"t":"m","s":1,"d":"a"}', 1).replaceAll("\n", "\r\n");
    const [events, end] = plainEvents(plain, 0);
    assert.equal(events.length, 1);
    assert.equal(end, plain.length);
    // The CR LF events never show a "\n\n": without looking for CR the stream would stall here.
    assert.equal(plainEvents(plain + crlf, end), undefined);
    assert.equal(plainEvents(plain + crlf.slice(0, 10), end), undefined);
  });

  test("data that is not one JSON value is passed on as it is (the client counts and rejects it)", () => {
    const [events] = plainEvents("data: 1,2\n\n", 0);
    assert.deepEqual(events, ["1,2"]);
    // The client's batch `[${events}]` then has more values than events: it reads them one by one.
    assert.notEqual(JSON.parse(`[${events}]`).length, events.length);
  });

  test("a batch with a bad event still lists every event's data, the good ones parse alone", () => {
    const text = `${event('{"t":"m","s":1,"d":"a"}', 1)}data: not json\n\n${event('{"t":"m","s":2,"d":"b"}', 2)}`;
    const [events] = plainEvents(text, 0);
    assert.deepEqual(events, ['{"t":"m","s":1,"d":"a"}', "not json", '{"t":"m","s":2,"d":"b"}']);
    assert.throws(() => JSON.parse(`[${events}]`));
    assert.deepEqual(JSON.parse(events[2]), { t: "m", s: 2, d: "b" });
  });
});

// ---- EventStream ------------------------------------------------------------------------------------

describe("EventStream", () => {
  test("the reference implementation agrees with the Rust parser's expectations", () => {
    // The oracle the split tests lean on, checked on the cases whose events are written out below.
    assert.equal(RICH[0], "\uFEFF");
    assert.deepEqual(reference(RICH), RICH_EVENTS);
    assert.deepEqual(reference("data: a\n\rdata: b\r\r"), [message("a"), message("b")]);
    assert.deepEqual(reference("event: a\n\ndata: 1\n\n"), [message("1")]);
  });

  test("line ends: LF, CR and CRLF; LF CR and CR CR are two", () => {
    const want = [message("a\nb")];
    assert.deepEqual(parse("data: a\ndata: b\n\n"), want);
    assert.deepEqual(parse("data: a\rdata: b\r\r"), want);
    assert.deepEqual(parse("data: a\r\ndata: b\r\n\r\n"), want);
    assert.deepEqual(parse("data: a\n\rdata: b\r\r"), [message("a"), message("b")]);
    assert.deepEqual(parse("data: a\r\rdata: b\n\n"), [message("a"), message("b")]);
    assert.deepEqual(parse("data: a\r\n\rdata: b\r\n\n"), [message("a"), message("b")]);
  });

  test("a CRLF split across chunks is one line end", () => {
    assert.deepEqual(parse(["data: a\r", "\ndata: b\r", "\n", "\r", "\n"]), [message("a\nb")]);
    // A CR at the end of a chunk followed by something else than LF.
    assert.deepEqual(parse(["data: a\r", "\ndata: b\r", "data: c\r", "\r"]), [message("a\nb\nc")]);
    // The CR of a blank line at the end of a chunk: dispatched at once, its LF not a second line.
    const events = [];
    const parser = new EventStream((data, type, id) => events.push([data, type, id]));
    parser.feed("data: a\r\n\r");
    assert.deepEqual(events, [message("a")]);
    parser.feed("\ndata: b\n\n");
    assert.deepEqual(events, [message("a"), message("b")]);
  });

  test("a byte-order mark is stripped once, and only at the start", () => {
    assert.deepEqual(parse("\uFEFFdata: a\n\n"), [message("a")]);
    // A second one is part of the first field's name, which is then unknown.
    assert.deepEqual(parse("\uFEFF\uFEFFdata: a\n\n"), []);
    assert.deepEqual(parse(["", "\uFEFF", "data: a\n\n", "\uFEFFdata: b\n\n"]), [message("a")]);
    assert.deepEqual(parse(["\uFEFF", "\uFEFFdata: a\n\n"]), []);
    assert.deepEqual(parse(["data: a\n\n", "\uFEFFdata: b\n\n"]), [message("a")]);
    assert.deepEqual(parse(["d", "\uFEFFata: a\n\n"]), []);
    assert.deepEqual(parse("data: \uFEFF\n\n"), [message("\uFEFF")]);
  });

  test("data lines: one space stripped, joined with LF, a lone `data` adds an empty line", () => {
    assert.deepEqual(parse("data:a\n\n"), [message("a")]);
    assert.deepEqual(parse("data: a\n\n"), [message("a")]);
    assert.deepEqual(parse("data:  a \n\n"), [message(" a ")]);
    assert.deepEqual(parse("data: a\ndata:\ndata\n\n"), [message("a\n\n")]);
    // A lone `data` makes the buffer "\n", which is not empty: an event with empty data.
    assert.deepEqual(parse("data\n\n"), [message("")]);
    assert.deepEqual(parse("data:\n\n"), [message("")]);
    assert.deepEqual(parse('data: {"a":1}\n\n'), [message('{"a":1}')]);
    assert.deepEqual(parse("data: a:b: c\n\n"), [message("a:b: c")]);
    assert.deepEqual(parse("data: \0\uFFFD\u2028\n\n"), [message("\0\uFFFD\u2028")]);
  });

  test("comments and unknown fields are ignored; names are case-sensitive", () => {
    assert.deepEqual(parse(":\n: data: x\n\n"), []);
    assert.deepEqual(parse("Data: x\ndata : x\nfoo: x\nfoo\n\n"), []);
    assert.deepEqual(parse(": c\ndata: x\n: c\n\n"), [message("x")]);
    assert.deepEqual(parse("data: x\nretry: 10\nfoo: y\nretry\n\n"), [message("x")]);
    assert.deepEqual(parse("EVENT: e\nID: 5\ndata: x\n\n"), [message("x")]);
  });

  test("an event is dispatched only by a blank line, and only with data", () => {
    assert.deepEqual(parse("data: a"), []);
    assert.deepEqual(parse("data: a\n"), []);
    assert.deepEqual(parse("data: a\r"), []);
    assert.deepEqual(parse("\n\n\r\n\r\r"), []);
    assert.deepEqual(parse("event: e\nid: 1\n\n"), []);
    // The Rust parser's `finish`: an event the response cut off is not dispatched.
    assert.deepEqual(parse("id: 1\ndata: a\n\nid: 2\nevent: e\ndata: b\n"), [message("a", "1")]);
    // Events are emitted as their blank line arrives, not later.
    const events = [];
    const parser = new EventStream((data) => events.push(data));
    parser.feed("data: a\n");
    assert.deepEqual(events, []);
    parser.feed("\ndata: b\n");
    assert.deepEqual(events, ["a"]);
    parser.feed("\n");
    assert.deepEqual(events, ["a", "b"]);
  });

  test("event type: the last `event` field, else message; it does not leak into the next event", () => {
    const events = parse("event: a\ndata: 1\n\ndata: 2\n\nevent: b\nevent: c\ndata: 3\n\nevent\ndata: 4\n\n");
    assert.deepEqual(events, [["1", "a", ""], message("2"), ["3", "c", ""], message("4")]);
    // An event without data is not dispatched, but its type does not leak into the next one.
    assert.deepEqual(parse("event: a\n\ndata: 1\n\n"), [message("1")]);
    assert.deepEqual(parse("data: 1\nevent:  x\n\n"), [["1", " x", ""]]);
  });

  test("the last event id: kept across events, reset by an empty id, an id with NUL ignored", () => {
    const events = [];
    const parser = new EventStream((data, type, id) => events.push([data, type, id]));
    parser.feed("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\n");
    assert.deepEqual(events, [message("a", "1"), message("b", "1"), message("c", "")]);
    // An event without data still sets the last event id.
    parser.feed("id: x\0y\ndata: d\n\nid: 3 \ndata: e\n\n");
    assert.deepEqual(events.slice(3), [message("d", "2"), message("e", "3 ")]);
    // The id at the blank line counts, wherever it stands in the event.
    assert.deepEqual(parse("id: 1\ndata: a\nid: 2\n\n"), [message("a", "2")]);
    assert.deepEqual(parse("id:5\ndata: a\n\nid: \0\ndata: b\n\nid:\ndata: c\n\n"), [message("a", "5"), message("b", "5"), message("c", "")]);
  });

  test("the Rust parser's rich stream, decoded as a browser decodes it", () => {
    assert.deepEqual(parse(RICH), RICH_EVENTS);
  });

  // Three non-empty chunks: an empty one has a test of its own, at the end.
  test("every pair of split points of the rich stream gives the same events", () => {
    for (let i = 1; i < RICH.length; i++) {
      for (let j = i + 1; j < RICH.length; j++) {
        assert.deepEqual(parse(pieces(RICH, [i, j])), RICH_EVENTS, `split at ${i} and ${j}`);
      }
    }
  });

  test("property: every split point, and a code unit at a time, give the events of the whole text", () => {
    const server = serverStream();
    const streams = [...smallStreams(), server, server.replaceAll("\n", "\r\n"), server.replaceAll("\n", "\r")];
    const rand = random(3);
    for (let i = 0; i < 20; i++) streams.push(randomStream(rand, { length: 200 }));
    for (const text of streams) {
      const name = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
      const whole = parse(text);
      assert.deepEqual(whole, reference(text), `${name} read whole`);
      for (let cut = 0; cut <= text.length; cut++) {
        assert.deepEqual(parse(pieces(text, [cut])), whole, `${name} split at ${cut}`);
      }
      assert.deepEqual(parse(every(text, 1)), whole, `${name} a code unit at a time`);
      assert.deepEqual(parse(every(text, 3)), whole, `${name} three code units at a time`);
    }
  });

  test("property: every pair of split points of small streams gives the events of the whole text", () => {
    for (const text of smallStreams()) {
      if (text.length > 200) continue;
      const whole = reference(text);
      for (let i = 1; i < text.length; i++) {
        for (let j = i + 1; j < text.length; j++) {
          assert.deepEqual(parse(pieces(text, [i, j])), whole, `${JSON.stringify(text)} split at ${i} and ${j}`);
        }
      }
    }
  });

  test("an empty chunk changes nothing, even right after a CR", () => {
    assert.deepEqual(parse(["data: a\n", "", "\n"]), [message("a")]);
    assert.deepEqual(parse(["", "data: a\r\n\r\n", ""]), [message("a")]);
    // The CR may be the first half of a CRLF: an empty chunk between the two must not make the
    // LF a line of its own (that would dispatch "a" alone).
    assert.deepEqual(parse(["data: a\r", "", "\ndata: b\r\n\r\n"]), [message("a\nb")]);
    for (const text of smallStreams()) {
      const chunks = every(text, 1).flatMap((c) => [c, ""]);
      assert.deepEqual(parse(chunks), reference(text), `${JSON.stringify(text)} with empty chunks between`);
    }
  });
});

// ---- plainEvents and EventStream ------------------------------------------------------------------

describe("plainEvents and EventStream", () => {
  /** Plain-shaped streams: realtime-server's and random ones. */
  function plainStreams() {
    const rand = random(11);
    const streams = [serverStream(), PADDING, "", "\n", "data: x\n\n\n\n"];
    for (let i = 0; i < 100; i++) streams.push(randomPlainStream(rand));
    return streams;
  }

  test("on plain-shaped streams they read the same data, in order, however the stream is cut", () => {
    for (const text of plainStreams()) {
      const name = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
      const want = parse(text);
      // Nothing here that plainEvents would have to describe differently.
      assert.ok(want.every(([, type]) => type === "message"), name);
      const whole = readPlain(text, []);
      assert.equal(whole.declined, false, name);
      assert.deepEqual(whole.events, want.map(([data]) => data), name);
      const step = text.length > 1000 ? 7 : 1;
      for (let cut = 0; cut <= text.length; cut += step) {
        const chunks = pieces(text, [cut]);
        const plain = readPlain(text, [cut]);
        assert.equal(plain.declined, false, `${name} cut at ${cut}`);
        assert.deepEqual(plain.events, parse(chunks).map(([data]) => data), `${name} cut at ${cut}`);
      }
      // Both at each step of a response arriving a few code units at a time.
      const events = [];
      const parser = new EventStream((data) => events.push(data));
      let from = 0, seen = "";
      for (const chunk of every(text, 5)) {
        seen += chunk;
        parser.feed(chunk);
        const [data, next] = plainEvents(seen, from);
        from = next;
        assert.deepEqual(data, events.splice(0), `${name} at ${seen.length}`);
      }
    }
  });

  test("whenever plainEvents reads a stream, it reads what EventStream reads", () => {
    // Random streams of every shape with LF line ends: where the fast path does not decline, it
    // reads the data the parser reads from the same text, and leaves no complete event behind.
    const rand = random(5);
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      const plain = i % 2 == 0;
      const text = plain ? randomPlainStream(rand, 4) : randomStream(rand, { lineEnds: ["\n"], length: 6 });
      const batch = plainEvents(text, 0);
      if (plain) assert.notEqual(batch, undefined, `${JSON.stringify(text)} declined`);
      if (batch === undefined) continue;
      if (!plain) read++;
      const [data, next] = batch;
      assert.deepEqual(data, parse(text.slice(0, next)).map(([d]) => d), JSON.stringify(text));
      assert.deepEqual(data, parse(text).map(([d]) => d), `${JSON.stringify(text)}: an event left behind`);
    }
    // Streams of other shapes were read too (their unfinished or data-less parts), not only declined.
    assert.ok(read > 100, `only ${read} streams of other shapes read`);
  });
});
