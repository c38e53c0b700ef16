// The event-stream parser of src/js/client.js, `eventStream`, in Node (no browser, no server):
//  - a response read as the streaming transport reads it (`function streaming`): the response text
//    grows, and each read feeds one `eventStream` parser the part not read yet; for the session protocol
//    the data of the events a read completes go on together. realtime-server's stream (a 2 KiB
//    comment prelude, `id:` lines, one `data:` line of JSON per event), and the shapes a proxy or
//    a broken server may turn it into, give every event exactly once, in order, at the read that
//    completes it, however the response arrives;
//  - the rules of the HTML standard ("event stream interpretation"): the corner cases of the Rust
//    parser `eventStream` replaced (src/sse.rs, removed with the move to JavaScript), checked
//    against a small reference implementation written from the standard, and that every way of
//    cutting a stream into chunks gives the events of the whole stream;
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { eventStream } from "../../src/js/client.js";

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

/** `chunks` (a string, or a list of them) fed to one `eventStream`: the events it dispatched. */
function parse(chunks) {
  const events = [];
  const feed = eventStream((data, type, id) => events.push([data, type, id]));
  for (const chunk of [].concat(chunks)) feed(chunk);
  return events;
}

/**
 * Reads `text` as the streaming transport reads a response (`function streaming`): the response
 * text grows to each of `ends` (ascending; one repeated is a read that finds nothing new), then to
 * the whole text, and each read feeds one `eventStream` the part not read yet,
 * `text.slice(offset, end)`. The events each read completes, as [data, type, lastEventId].
 */
function grow(text, ends) {
  const reads = [];
  let events = [];
  const feed = eventStream((data, type, id) => events.push([data, type, id]));
  let offset = 0;
  for (const end of [...ends, text.length]) {
    const responseText = text.slice(0, end);
    const chunk = responseText.slice(offset);
    offset += chunk.length;
    feed(chunk);
    reads.push(events);
    events = [];
  }
  return reads;
}

/**
 * The HTML standard's "interpreting an event stream", written out on the whole text at once
 * (independent of how `eventStream` carries state across chunks): the events, as
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

/**
 * `grow(text, ends)`, checked read by read: the events read so far are always those of the text
 * arrived so far (`reference`), so each event comes once, in order, at the read that completes it
 * (a CR ending its blank line is enough: no waiting for an LF that may follow). All its events.
 */
function checkGrow(text, ends, name) {
  const reads = grow(text, ends);
  const all = [];
  [...ends, text.length].forEach((end, i) => {
    all.push(...reads[i]);
    assert.deepEqual(all, reference(text.slice(0, end)), `${name}: read ${i}, the text to ${end}`);
  });
  return all;
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

/**
 * A random stream of the plain shape realtime-server writes: comment and `id:` lines, at most one
 * `data:` line, a blank line (sometimes two).
 */
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

// ---- a response read as it grows --------------------------------------------------------------------

/** The frames of events' data: each event's data is one JSON value. */
const frames = (events) => events.map(([data]) => JSON.parse(data));

/** realtime-server's stream with its line ends as `lineEnd`. */
const withLineEnds = (text, lineEnd) => text.replaceAll("\n", lineEnd);
const LINE_ENDS = { LF: "\n", "CR LF": "\r\n", CR: "\r" };

/** Every event's last event id in realtime-server's stream: that of the last message before it. */
function expectedIds() {
  let id = "";
  return EXPECTED.map((f) => (id = f.t === "m" || f.t === "e" ? String(f.s) : id));
}

/** The text an event of the plain shape ends at: its blank line's first line end (`lineEnd`) read. */
function completions(text, lineEnd) {
  const ends = [];
  let count = 0;
  const blank = lineEnd + lineEnd;
  for (let i = text.indexOf(blank); i >= 0; i = text.indexOf(blank, i + 1)) {
    const start = ends.length ? ends.at(-1).end : 0;
    if (text.slice(start, i).includes("data: ")) count++;
    // The line before the blank one ends at i + its line end; the blank line ends one code unit
    // later (its CR, for CR LF: the LF that may follow changes nothing).
    ends.push({ end: i + lineEnd.length + 1, count });
  }
  return ends;
}

describe("a response read as it grows", () => {
  test("realtime-server's whole response, in one read: every frame, in order, with its id", () => {
    const text = serverStream();
    assert.deepEqual(reference(text).map(([data]) => JSON.parse(data)), EXPECTED, "the reference reads the frames");
    const reads = grow(text, []);
    assert.equal(reads.length, 1);
    assert.deepEqual(frames(reads[0]), EXPECTED);
    // The prelude and the comment between events dispatch nothing; the ids are kept across events.
    const ids = expectedIds();
    assert.deepEqual(reads[0], FRAMES.map((json, i) => message(json, ids[i])));
  });

  test("cut at every position, in every line end: every frame once, each at the read that completes it", () => {
    for (const [name, lineEnd] of Object.entries(LINE_ENDS)) {
      const text = withLineEnds(serverStream(), lineEnd);
      const ends = completions(text, lineEnd);
      assert.equal(ends.at(-1).count, FRAMES.length, name);
      assert.equal(ends.at(-1).end, text.length - (lineEnd === "\r\n" ? 1 : 0), name);
      for (let cut = 0; cut <= text.length; cut++) {
        const all = checkGrow(text, [cut], `${name}, cut at ${cut}`);
        assert.deepEqual(frames(all), EXPECTED, `${name}, cut at ${cut}`);
        // The first read alone: exactly the frames whose event it completes (counted without the
        // reference implementation).
        const complete = ends.filter(({ end }) => end <= cut).at(-1) ?? { end: 0, count: 0 };
        assert.deepEqual(frames(grow(text, [cut])[0]), EXPECTED.slice(0, complete.count), `${name}, cut at ${cut}`);
      }
    }
  });

  test("arriving a few code units at a time", () => {
    for (const [name, lineEnd] of Object.entries(LINE_ENDS)) {
      const text = withLineEnds(serverStream(), lineEnd);
      for (const size of [1, 2, 3, 5, 7, 64, 1000]) {
        const cuts = [];
        for (let i = size; i < text.length; i += size) cuts.push(i);
        assert.deepEqual(frames(checkGrow(text, cuts, `${name}, ${size} at a time`)), EXPECTED, `${name}, ${size} at a time`);
      }
    }
  });

  test("arriving in random pieces, some reads finding nothing new", () => {
    const text = serverStream();
    const rand = random(1);
    for (let run = 0; run < 50; run++) {
      const cuts = [];
      for (let i = 0; i < text.length; i += 1 + Math.floor(rand() * 300)) {
        if (!i) continue;
        cuts.push(i);
        if (rand() < 0.1) cuts.push(i);
      }
      assert.deepEqual(frames(checkGrow(text, cuts, `cuts ${cuts}`)), EXPECTED, `cuts ${cuts}`);
    }
  });

  test("random streams of the plain shape, cut anywhere: each event once, at the read that completes it", () => {
    const rand = random(11);
    const streams = [serverStream(), PADDING, "", "\n", "data: x\n\n\n\n"];
    for (let i = 0; i < 100; i++) streams.push(randomPlainStream(rand));
    for (const text of streams) {
      const name = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
      const step = text.length > 1000 ? 7 : 1;
      for (let cut = 0; cut <= text.length; cut += step) checkGrow(text, [cut], `${name} cut at ${cut}`);
      const cuts = [];
      for (let i = 5; i < text.length; i += 5) cuts.push(i);
      checkGrow(text, cuts, `${name} five at a time`);
    }
  });

  test("a partial event is not dispatched until its blank line arrives", () => {
    const first = '{"t":"m","s":1,"d":"a"}', second = '{"t":"m","s":2,"d":"b"}';
    const text = `${event(first, 1)}id: 2\ndata: ${second}\n\n`;
    // Read up to the last LF: the second event is complete but for its blank line.
    assert.deepEqual(grow(text, [text.length - 1]), [[message(first, "1")], [message(second, "2")]]);
    // Nothing complete yet: nothing dispatched.
    assert.deepEqual(grow("data: {", []), [[]]);
    assert.deepEqual(grow("", []), [[]]);
    assert.deepEqual(grow("id: 1\ndata: {}\n", []), [[]]);
    assert.deepEqual(grow(`${event("{}")}data: {}\n`, []), [[message("{}")]]);
    const partial = "id: 1\ndata: {}\n";
    assert.deepEqual(grow(`${partial}\n`, [5, partial.length, partial.length]), [[], [], [], [message("{}", "1")]]);
  });

  test("data without the space after the colon, one space stripped, blank lines between events", () => {
    const text = 'data:{"t":"a","a":1}\n\n\n\ndata: {"t":"a","a":2}\n\ndata:  x\n\ndata:\n\ndata: \n\n';
    assert.deepEqual(parse(text).map(([data]) => data), ['{"t":"a","a":1}', '{"t":"a","a":2}', " x", "", ""]);
  });

  test("comment and id lines, and events without data, give no events of their own", () => {
    const text = ": c\nid: 1\nid:2\n:\n\nid: 3\n\n: only\n\n:x\nid: 4\ndata: d\n\n";
    assert.deepEqual(grow(text, []), [[message("d", "4")]]);
  });

  // Shapes realtime-server does not write, each as an event of its own.
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

  test("shapes realtime-server does not write, among its events: read by the standard's rules however they arrive", () => {
    for (const [what, other] of Object.entries(FOREIGN)) {
      for (const before of ["", GOOD, PADDING + GOOD]) {
        const text = before + other + GOOD + other + GOOD;
        const name = `${what} after ${JSON.stringify(before.slice(-20))}`;
        assert.ok(reference(text).length >= 2, name);
        for (let cut = 0; cut <= text.length; cut++) checkGrow(text, [cut], `${name}, cut at ${cut}`);
      }
    }
    // A byte-order mark after the start of the stream is not stripped (one parser reads the whole
    // response): its line is a field named "\uFEFFdata", unknown, and the event has no data.
    const bom = FOREIGN["a byte order mark"];
    assert.deepEqual(grow(GOOD + bom + GOOD, [GOOD.length]), [[message('{"t":"m","s":1,"d":"a"}', "1")], [message('{"t":"m","s":1,"d":"a"}', "1")]]);
    // At the very start it is stripped.
    assert.deepEqual(grow(bom, [1]), [[], [message('{"t":"a","a":1}')]]);
  });

  test("a stream that turns to CR LF midway: each event at the read that completes it", () => {
    const open = '{"t":"o","sid":"s","token":"k","ack":0,"hb":1}', m1 = '{"t":"m","s":1,"d":"a"}', m2 = '{"t":"m","s":2,"d":"b"}';
    const plain = PADDING + event(open);
    const crlf = event(m1, 1).replaceAll("\n", "\r\n");
    const text = plain + crlf + event(m2, 2).replaceAll("\n", "\r\n");
    const want = [message(open), message(m1, "1"), message(m2, "2")];
    // The first CR LF event read up to its last CR: complete, dispatched there (a reader looking
    // for "\n\n" would stall); its LF, read next, is no blank line of its own.
    const cr = plain.length + crlf.length - 1;
    assert.equal(text[cr - 1], "\r");
    assert.deepEqual(grow(text, [plain.length, cr, cr + 1]), [[want[0]], [want[1]], [], [want[2]]]);
    assert.deepEqual(grow(text, [plain.length + 10]), [[want[0]], want.slice(1)]);
    for (let cut = 0; cut <= text.length; cut++) assert.deepEqual(checkGrow(text, [cut], `cut at ${cut}`), want);
  });

  test("data that is not one JSON value is passed on as it is", () => {
    // The client then finds more values in the read's array than events, and reads them one by one.
    assert.deepEqual(grow("data: 1,2\n\n", []), [[message("1,2")]]);
    assert.deepEqual(grow("data: [1,\ndata: 2]\n\ndata: \n\n", []), [[message("[1,\n2]"), message("")]]);
  });

  test("a read with a bad event yields every event's data, in order, the good ones whole", () => {
    const a = '{"t":"m","s":1,"d":"a"}', b = '{"t":"m","s":2,"d":"b"}';
    const text = `${event(a, 1)}data: not json\n\n${event(b, 2)}`;
    const reads = grow(text, []);
    assert.deepEqual(reads, [[message(a, "1"), message("not json", "1"), message(b, "2")]]);
    const data = reads[0].map(([d]) => d);
    assert.throws(() => JSON.parse(data[1]));
    assert.deepEqual(JSON.parse(data[0]), { t: "m", s: 1, d: "a" });
    assert.deepEqual(JSON.parse(data[2]), { t: "m", s: 2, d: "b" });
    // However it arrives, the same events, each once.
    for (let cut = 0; cut <= text.length; cut++) checkGrow(text, [cut], `cut at ${cut}`);
  });
});

// ---- eventStream ------------------------------------------------------------------------------------

describe("eventStream", () => {
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
    const feed = eventStream((data, type, id) => events.push([data, type, id]));
    feed("data: a\r\n\r");
    assert.deepEqual(events, [message("a")]);
    feed("\ndata: b\n\n");
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
    const feed = eventStream((data) => events.push(data));
    feed("data: a\n");
    assert.deepEqual(events, []);
    feed("\ndata: b\n");
    assert.deepEqual(events, ["a"]);
    feed("\n");
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
    const feed = eventStream((data, type, id) => events.push([data, type, id]));
    feed("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\n");
    assert.deepEqual(events, [message("a", "1"), message("b", "1"), message("c", "")]);
    // An event without data still sets the last event id.
    feed("id: x\0y\ndata: d\n\nid: 3 \ndata: e\n\n");
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
