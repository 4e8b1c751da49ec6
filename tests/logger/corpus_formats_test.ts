/**
 * The classification corpus (written as combined-format lines) rewritten into the other formats
 * piw logger reads: formats with a User-Agent classify every line as combined does; `common` and
 * `common_vhost` carry no agent, so (as in piwheels) nothing from them is logged; malformed lines
 * are refused by every format.
 */
import assert from "node:assert/strict";
import { classify } from "../../src/logger/classify.ts";
import { compileFormat } from "../../src/logger/format.ts";
import { CORPUS, MALFORMED } from "./corpus.ts";

/** The raw fields of a combined-format line (still Apache-escaped). */
interface Fields {
  host: string;
  time: string;
  request: string;
  status: string;
  bytes: string;
  referer: string;
  agent: string;
}

const QUOTED = String.raw`"((?:[^"\\]|\\.)*)"`;
const COMBINED = new RegExp(
  String.raw`^(\S+) - - \[([^\]]+)\] ${QUOTED} (\S+) (\S+) ${QUOTED} ${QUOTED}$`,
);

function fields(line: string): Fields {
  const m = COMBINED.exec(line);
  assert.ok(m, `not a combined line: ${line}`);
  const [, host, time, request, status, bytes, referer, agent] = m;
  return { host, time, request, status, bytes, referer, agent };
}

/** Each format with how to write a corpus line in it and whether it carries the agent. */
const FORMATS: { format: string; write: (f: Fields) => string; agent: boolean }[] = [
  {
    format: "common",
    write: (f) => `${f.host} - - [${f.time}] "${f.request}" ${f.status} ${f.bytes}`,
    agent: false,
  },
  {
    format: "common_vhost",
    write: (f) =>
      `www.example.org:443 ${f.host} - - [${f.time}] "${f.request}" ${f.status} ${f.bytes}`,
    agent: false,
  },
  {
    // Debian's vhost_combined.
    format: String.raw`%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"`,
    write: (f) =>
      `www.example.org:443 ${f.host} - - [${f.time}] "${f.request}" ${f.status} ${f.bytes} ` +
      `"${f.referer}" "${f.agent}"`,
    agent: true,
  },
  {
    // The agent first, the client address as %a, a duration and the request split up.
    format: '"%{User-Agent}i" %a %t %m %U%q %H %>s %D',
    write: (f) => {
      const [method, target, protocol] = f.request.split(" ");
      return `"${f.agent}" ${f.host} [${f.time}] ${method} ${target} ${protocol} ${f.status} 1234`;
    },
    agent: true,
  },
];

for (const { format, write, agent } of FORMATS) {
  Deno.test(`the corpus classifies the same in ${format.slice(0, 40)}`, () => {
    const parser = compileFormat(format);
    for (const [line, expected] of CORPUS) {
      const rewritten = write(fields(line));
      const entry = parser.parse(rewritten);
      assert.ok(entry, `did not parse: ${rewritten}`);
      const msg = classify(entry);
      assert.deepEqual(msg ? [msg.name, msg.data] : null, agent ? expected : null, rewritten);
    }
  });
}

Deno.test("every format refuses the malformed lines", () => {
  for (const format of ["combined", ...FORMATS.map((f) => f.format)]) {
    const parser = compileFormat(format);
    for (const line of MALFORMED) assert.equal(parser.parse(line), null, `${format}: ${line}`);
  }
});
