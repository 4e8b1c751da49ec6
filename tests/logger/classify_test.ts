import assert from "node:assert/strict";
import {
  agentSummary,
  classify,
  type LogMessage,
  pageName,
  ruleFor,
} from "../../src/logger/classify.ts";
import { encodeLogMessage } from "../../src/logger/encode.ts";
import { AccessLogRows, LOG_NAMES, type RowFormat } from "../../src/logger/rows.ts";
import {
  decodeMessage,
  encodeMessage,
  lumberjackProtocol,
  ProtocolError,
} from "../../src/protocols/mod.ts";
import { encodeCbor } from "../../src/protocols/cbor.ts";
import { compileFormat } from "../../src/logger/format.ts";
import { CORPUS, MALFORMED, PIP_AGENT } from "./corpus.ts";
import { fromHex, vectors } from "../protocols/_helpers.ts";
import { LOG_TABLES } from "../../src/db/log_tables.ts";

const combined = compileFormat("combined");

Deno.test("classifies every corpus line as expected", () => {
  for (const [line, expected] of CORPUS) {
    const entry = combined.parse(line);
    assert.deepEqual(entry === null, false, `did not parse: ${line}`);
    const msg = classify(entry!);
    assert.deepEqual(msg ? [msg.name, msg.data] : null, expected, line);
  }
});

Deno.test("a PEP 658 metadata fetch is a metadata fetch, neither a download nor a search", () => {
  const path = "/simple/x/x-1.0-py3-none-any.whl.metadata";
  assert.equal(ruleFor(PIP_AGENT, path), "LOGMETADATA");
  assert.equal(ruleFor("uv/0.4.0", path), "LOGMETADATA");
  const line = `1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET ${path} HTTP/1.1" 200 512 "-" ` +
    `"${PIP_AGENT}"`;
  const msg = classify(combined.parse(line)!);
  assert.equal(msg?.name, "LOGMETADATA");
  assert.deepEqual(msg?.data.slice(0, 2), ["x-1.0-py3-none-any.whl", "1.2.3.4"]);
  // The wheel itself is still a download and the project's index still a search.
  assert.equal(ruleFor(PIP_AGENT, "/simple/x/x-1.0-py3-none-any.whl"), "LOGDOWNLOAD");
  assert.equal(ruleFor(PIP_AGENT, "/simple/x/"), "LOGSEARCH");
  // A metadata file of something that is not a wheel is not one.
  assert.equal(ruleFor(PIP_AGENT, "/simple/x/x-1.0.tar.gz.metadata"), "LOGSEARCH");
});

Deno.test("rejects malformed lines without throwing", () => {
  for (const line of MALFORMED) assert.deepEqual(combined.parse(line), null, line);
});

Deno.test("the first matching rule wins", () => {
  assert.deepEqual(ruleFor(PIP_AGENT, "/simple/"), null);
  assert.deepEqual(ruleFor("pip/1", "/simple/x/x-1-py3-none-any.whl"), "LOGDOWNLOAD");
  assert.deepEqual(ruleFor("pip/1", "/simple/x/"), "LOGSEARCH");
  assert.deepEqual(ruleFor("pipx/1", "/simple/x/"), null);
  assert.deepEqual(ruleFor("x", "/project/x/json/"), "LOGJSON");
  assert.deepEqual(ruleFor("x", "/project/x/json"), "LOGPROJECT");
  assert.deepEqual(ruleFor("x", "/a/b.html"), "LOGPAGE");
  assert.deepEqual(ruleFor("x", "/a/b.htm"), null);
});

Deno.test("summarises user agents and names pages", () => {
  assert.deepEqual(agentSummary("Mozilla/5.0 (X11)"), "mozilla");
  assert.deepEqual(agentSummary("A".repeat(300)), "a".repeat(200));
  assert.deepEqual(pageName("/"), "home");
  assert.deepEqual(pageName("/index.html"), "home");
  assert.deepEqual(pageName("/stats.html"), "stats");
});

Deno.test("a pip agent with broken JSON still logs, without details", () => {
  const msg = classify({
    host: "10.0.0.1",
    time: new Date(0),
    method: "GET",
    path: "/simple/a/",
    status: 200,
    userAgent: 'pip/20.0 {"cpu": "armv7l"',
  });
  assert.deepEqual(msg?.name, "LOGSEARCH");
  assert.deepEqual(msg?.data.slice(3), [
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
  ]);
});

Deno.test("the fast encoder writes exactly what encodeMessage writes", () => {
  const send = lumberjackProtocol.reversed();
  const extra: LogMessage[] = [
    { name: "LOGPAGE", data: ["hömé", "::1", new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 5)), "x"] },
    { name: "LOGPROJECT", data: ["p".repeat(300), "10.0.0.1", new Date(0), "a".repeat(70_000)] },
  ];
  const msgs = [
    ...CORPUS.map(([line]) => classify(combined.parse(line)!)).filter((m) => m !== null),
    ...extra,
  ];
  for (const msg of msgs) {
    assert.deepEqual(
      encodeLogMessage(msg),
      encodeMessage(send, msg.name, msg.data as never),
      msg.name,
    );
  }
});

/** The rows an AccessLogRows holds per message name, times as milliseconds. */
function heldRows(rows: AccessLogRows): Record<string, unknown[][]> {
  const held: Record<string, unknown[][]> = {};
  for (const [name, text] of Object.entries(rows.text())) {
    held[name] = parseRows(rows.format, text!).map((row) => {
      const copy = [...row];
      copy[2] = Date.parse(row[2] as string);
      return copy;
    });
  }
  return held;
}

/** Rows as PostgreSQL reads them: COPY text lines, or a JSON array. */
function parseRows(format: RowFormat, text: string): unknown[][] {
  if (format === "json") return JSON.parse(text) as unknown[][];
  const unescape = (field: string) =>
    field === "\\N"
      ? null
      : field.replace(/\\(.)/g, (_, c: string) =>
        c === "t" ? "\t" : c === "n" ? "\n" : c === "r" ? "\r" : c);
  assert.ok(text.endsWith("\n"), "every COPY line ends with a newline");
  return text.slice(0, -1).split("\n").map((line) => line.split("\t").map(unescape));
}

/** What `rows` should hold for `msgs` (decoded by the protocol, not the fast path). */
function expectedRows(frames: Uint8Array[]): Record<string, unknown[][]> {
  const expected: Record<string, unknown[][]> = {};
  for (const frame of frames) {
    const msg = decodeMessage(lumberjackProtocol, frame);
    const row = JSON.parse(JSON.stringify(msg.data)) as unknown[];
    row[2] = (msg.data as unknown[])[2] instanceof Date ? Date.parse(row[2] as string) : NaN;
    const limits = LOG_TABLES[msg.name as keyof typeof LOG_TABLES].columns.map(([, n]) => n);
    const cut = row.map((field, i) =>
      typeof field === "string" && limits[i] ? [...field].slice(0, limits[i]).join("") : field
    );
    (expected[msg.name] ??= []).push(cut);
  }
  return expected;
}

Deno.test("Lumberjack's rows hold what the encoder writes, as the protocol reads it", () => {
  const msgs = CORPUS.map(([line]) => classify(combined.parse(line)!)).filter((m) => m !== null);
  // Texts that JSON must escape or that are not ASCII take the slow path; so do other encoders.
  const at = new Date(Date.UTC(2026, 10, 24, 1, 2, 3));
  const odd: LogMessage[] = [
    { name: "LOGPAGE", data: ["home", "192.0.2.1", at, 'say "hi"\\ \u0000 é ✓'] },
    { name: "LOGPROJECT", data: ["numpy", "::1", at, "tab\there"] },
    {
      name: "LOGSEARCH",
      data: [
        "pkg",
        "192.0.2.2",
        at,
        "x".repeat(300),
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        "",
        null,
      ],
    },
  ];
  const frames = [...msgs, ...odd].map((msg) => encodeLogMessage(msg));
  frames.push(
    encodeMessage(lumberjackProtocol.reversed(), "LOGJSON", ["foo", "192.0.2.3", at, "curl"]),
    // Longer than its column (fast path): cut to fit, as the log_* functions do.
    encodeLogMessage({ name: "LOGPAGE", data: ["p".repeat(40), "::1", at, "a".repeat(2100)] }),
  );
  const names = [...msgs, ...odd].map((msg) => msg.name).concat(["LOGJSON", "LOGPAGE"]);
  const expectedCounts: Record<string, number> = {};
  for (const name of names) expectedCounts[name] = (expectedCounts[name] ?? 0) + 1;
  // piw's logger sends the records back to back in one frame: the same rows.
  const sequence = new Uint8Array(frames.reduce((n, frame) => n + frame.length, 0));
  frames.reduce((at, frame) => (sequence.set(frame, at), at + frame.length), 0);
  for (const format of ["copy", "json"] as const) {
    const alone = new AccessLogRows(format);
    const counts = new Map<string, number>();
    for (const frame of frames) assert.deepEqual(alone.addFrame(frame, counts), []);
    assert.deepEqual(Object.fromEntries(counts), expectedCounts);
    const rows = new AccessLogRows(format);
    const sequenceCounts = new Map<string, number>();
    assert.deepEqual(rows.addFrame(sequence, sequenceCounts), []);
    assert.deepEqual(sequenceCounts, counts);
    assert.equal(rows.length, frames.length);
    assert.deepEqual(heldRows(rows), expectedRows(frames), format);
    assert.deepEqual(heldRows(alone), heldRows(rows), format);
    // Each row alone and any run of rows, to find the bad ones in a failed batch.
    const held = heldRows(rows);
    let counted = 0;
    for (const name of LOG_NAMES) {
      const n = rows.count(name);
      counted += n;
      assert.equal(n, held[name]?.length ?? 0, name);
      for (let i = 0; i < n; i++) {
        assert.equal(parseRows(format, rows.slice(name, i, i + 1)).length, 1, `${name} ${i}`);
      }
      if (n > 1) {
        const whole = parseRows(format, rows.text()[name]!);
        assert.deepEqual(parseRows(format, rows.slice(name, 1, n)), whole.slice(1), name);
      }
    }
    assert.equal(counted, frames.length);
  }
});

Deno.test("Lumberjack's rows refuse malformed records and keep the rest", () => {
  const at = new Date(Date.UTC(2026, 10, 24));
  const good = encodeLogMessage({ name: "LOGPAGE", data: ["home", "::1", at, "wget"] });
  const bad = [
    // A PAGE hit with a null agent: not the fast shape, and invalid for the protocol.
    encodeCbor(["LOGPAGE", ["home", "::1", new Date(0), null]]),
    encodeCbor(["LOGNOTHING", ["home", "::1", at, "wget"]]),
    encodeCbor(["LOGPAGE", ["home", "::1", "2026-02-30T00:00:00Z", "wget"]]),
    // Not a message at all.
    new Uint8Array([0]),
  ];
  const rows = new AccessLogRows();
  const counts = new Map<string, number>();
  assert.equal(rows.addFrame(new Uint8Array(0), counts).length, 1, "an empty frame");
  for (const frame of [good, ...bad]) {
    const errors = rows.addFrame(frame, counts);
    assert.equal(errors.length, frame === good ? 0 : 1);
    for (const error of errors) assert.ok(error instanceof ProtocolError);
  }
  // In one frame, each bad record is skipped and the records around it are kept.
  const sequence = [good, bad[0], good, bad[1], good, bad[2], good, bad[3], good];
  const errors = rows.addFrame(
    new Uint8Array(sequence.flatMap((frame) => [...frame])),
    counts,
  );
  assert.equal(errors.length, 4);
  // A truncated record ends the frame: where the next one starts cannot be told.
  assert.equal(rows.addFrame(new Uint8Array([...good, 0x82, 0x61]), counts).length, 1);
  assert.equal(rows.length, 7);
  assert.deepEqual(Object.fromEntries(counts), { LOGPAGE: 7 });
  assert.deepEqual(rows.text(), { LOGPAGE: "home\t::1\t2026-11-24T00:00:00Z\twget\n".repeat(7) });
});

Deno.test("Lumberjack's rows read the recorded messages of piwheels' logger", () => {
  const recorded = vectors.filter((v) => v.queue.startsWith("lumberjack"));
  assert.ok(recorded.length >= 3);
  const frames = recorded.map((v) => fromHex(v.hex));
  const rows = new AccessLogRows();
  for (const frame of frames) assert.deepEqual(rows.addFrame(frame, new Map()), []);
  const held = heldRows(rows);
  assert.deepEqual(held, expectedRows(frames));
  for (const v of recorded) {
    const data = [...v.data as unknown[]];
    data[2] = Date.parse((data[2] as { $dt: string }).$dt);
    assert.ok(held[v.message].some((row) => JSON.stringify(row) === JSON.stringify(data)));
  }
});
