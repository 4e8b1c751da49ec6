import assert from "node:assert/strict";
import {
  compileFormat,
  LogFormatError,
  parseApacheTime,
  unescapeApache,
} from "../../src/logger/format.ts";

const T = new Date("2026-11-24T00:41:26Z");

Deno.test("parses the common format (no user agent)", () => {
  const entry = compileFormat("common").parse(
    '192.0.2.1 - frank [24/Nov/2026:00:41:26 +0000] "GET /index.html HTTP/1.0" 200 2326',
  );
  assert.deepEqual(entry, {
    host: "192.0.2.1",
    time: T,
    method: "GET",
    path: "/index.html",
    status: 200,
  });
});

Deno.test("parses the common_vhost format", () => {
  const entry = compileFormat("common_vhost").parse(
    'www.piwheels.org:443 192.0.2.1 - - [24/Nov/2026:00:41:26 +0000] "GET / HTTP/1.1" 304 -',
  );
  assert.deepEqual(entry?.host, "192.0.2.1");
  assert.deepEqual(entry?.status, 304);
});

Deno.test("parses the combined format with escaped quotes in the agent", () => {
  const entry = compileFormat("combined").parse(
    '192.0.2.1 - - [24/Nov/2026:00:41:26 +0000] "GET /simple/ HTTP/1.1" 200 5 ' +
      '"http://x/?a=\\"b\\"" "pip/23 {\\"a\\":\\"b\\\\c\\"}"',
  );
  assert.deepEqual(entry?.userAgent, 'pip/23 {"a":"b\\c"}');
});

Deno.test("parses a custom format with many directives", () => {
  const format = "%v %V %a %A %p %P %{X-Forwarded-For}i %D %T %B %b %H %m %U%q %s %>s " +
    '"%{user-agent}i" %% [%t]';
  const line = "piw 127.0.0.1 192.0.2.9 10.0.0.1 80 1234 - 1500 0 120 - HTTP/1.1 GET " +
    '/project/foo/?x=1 302 200 "Wget/1 (x)" % [[24/Nov/2026:00:41:26 +0000]]';
  const entry = compileFormat(format).parse(line);
  assert.deepEqual(entry, {
    host: "192.0.2.9",
    time: T,
    method: "GET",
    path: "/project/foo/",
    status: 200,
    userAgent: "Wget/1 (x)",
  });
});

Deno.test("accepts backslash-escaped quotes in a format given as in apache2.conf", () => {
  const entry = compileFormat('%h %t \\"%r\\" %>s \\"%{User-Agent}i\\"').parse(
    '192.0.2.1 [24/Nov/2026:00:41:26 +0000] "GET / HTTP/1.1" 200 "curl/8"',
  );
  assert.deepEqual(entry?.userAgent, "curl/8");
});

Deno.test("status conditions and < > modifiers are understood", () => {
  const entry = compileFormat('%h %<s %!200,304{Referer}i "%r"').parse('a 500 - "GET / HTTP/1.1"');
  assert.deepEqual(entry?.status, 500);
});

Deno.test("rejects unknown directives", () => {
  assert.throws(() => compileFormat("%h %J"), LogFormatError);
});

Deno.test("unescapes Apache's escapes", () => {
  assert.deepEqual(unescapeApache('a\\"b\\\\c\\x41\\n'), 'a"b\\cA\n');
  assert.deepEqual(unescapeApache("plain"), "plain");
});

Deno.test("parses Apache times with offsets", () => {
  assert.deepEqual(parseApacheTime("24/Nov/2026:02:41:26 +0200"), T);
  assert.deepEqual(parseApacheTime("24/Nov/2026:02:41:26 +0200"), T);
  assert.deepEqual(parseApacheTime("24/Nvo/2026:02:41:26 +0200"), null);
});
