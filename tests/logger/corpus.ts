/**
 * Real-format access-log lines (as Apache writes them, with `\"` escapes inside quoted fields)
 * and what piw logger must make of each.
 * @module
 */

/** pip 23 on a Raspberry Pi, as sent in its User-Agent. */
export const PIP_AGENT = 'pip/23.0.1 {"ci":null,"cpu":"armv7l","distro":{"id":"bullseye",' +
  '"libc":{"lib":"glibc","version":"2.31"},"name":"Raspbian GNU/Linux","version":"11"},' +
  '"implementation":{"name":"CPython","version":"3.9.2"},"installer":{"name":"pip",' +
  '"version":"23.0.1"},"openssl_version":"OpenSSL 1.1.1n  15 Mar 2022","python":"3.9.2",' +
  '"rustc_version":null,"setuptools_version":"52.0.0","system":{"name":"Linux",' +
  '"release":"6.1.21-v7+"}}';

/** uv 0.4 on a Pi 5. */
export const UV_AGENT = 'uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},' +
  '"python":"3.12.3","implementation":{"name":"PyPy","version":"7.3.16"},"distro":{"name":' +
  '"Debian GNU/Linux","version":"12","id":"bookworm","libc":{"lib":"glibc","version":"2.36"}},' +
  '"system":{"name":"Linux","release":"6.6.31+rpt-rpi-v8"},"cpu":"aarch64",' +
  '"openssl_version":null,"setuptools_version":null,"rustc_version":null,"ci":null}';

/** An old pip whose JSON lacks `implementation` (py_name defaults, py_version from `python`). */
export const OLD_PIP_AGENT = 'pip/9.0.1 {"cpu":"armv6l","python":"2.7.13",' +
  '"installer":{"name":"pip","version":"9.0.1"},"system":{"name":"Linux","release":"4.9.35+"}}';

export const BROWSER =
  "Mozilla/5.0 (X11; Linux armv7l) AppleWebKit/537.36 Chrome/90.0 Safari/537.36";

/** Escape a string as Apache does inside a quoted log field. */
export function apacheEscape(text: string): string {
  return text.replace(/["\\]/g, "\\$&");
}

/** A combined-format line. */
export function combined(
  path: string,
  agent: string,
  { host = "192.0.2.7", status = 200, method = "GET", time = "24/Nov/2026:00:41:26 +0000" } = {},
): string {
  return `${host} - - [${time}] "${method} ${path} HTTP/1.1" ${status} 5120 "-" ` +
    `"${apacheEscape(agent)}"`;
}

const PIP_DETAILS = [
  "armv7l",
  "Raspbian GNU/Linux",
  "11",
  "Linux",
  "6.1.21-v7+",
  "CPython",
  "3.9.2",
  "pip",
  "23.0.1",
  "52.0.0",
];
const UV_DETAILS = [
  "aarch64",
  "Debian GNU/Linux",
  "12",
  "Linux",
  "6.6.31+rpt-rpi-v8",
  "PyPy",
  "7.3.16",
  "uv",
  "0.4.18",
  null,
];
const OLD_PIP_DETAILS = [
  "armv6l",
  null,
  null,
  "Linux",
  "4.9.35+",
  "CPython",
  "2.7.13",
  "pip",
  "9.0.1",
  null,
];
const NO_DETAILS = [null, null, null, null, null, null, null, null, null, null];

const T = new Date("2026-11-24T00:41:26Z");
const H = "192.0.2.7";

/** [line, expected message name and data (null = ignored)] for the combined format. */
export const CORPUS: [string, [string, unknown[]] | null][] = [
  [combined("/simple/numpy/numpy-1.26.4-cp39-cp39-linux_armv7l.whl", PIP_AGENT), [
    "LOGDOWNLOAD",
    ["numpy-1.26.4-cp39-cp39-linux_armv7l.whl", H, T, ...PIP_DETAILS],
  ]],
  [combined("/simple/numpy/numpy-1.26.4-cp312-cp312-linux_aarch64.whl", UV_AGENT), [
    "LOGDOWNLOAD",
    ["numpy-1.26.4-cp312-cp312-linux_aarch64.whl", H, T, ...UV_DETAILS],
  ]],
  [combined("/simple/six/six-1.16.0-py2.py3-none-any.whl", OLD_PIP_AGENT), [
    "LOGDOWNLOAD",
    ["six-1.16.0-py2.py3-none-any.whl", H, T, ...OLD_PIP_DETAILS],
  ]],
  // A download by curl: no JSON, so no client details.
  [combined("/simple/six/six-1.16.0-py2.py3-none-any.whl", "curl/8.5.0"), [
    "LOGDOWNLOAD",
    ["six-1.16.0-py2.py3-none-any.whl", H, T, ...NO_DETAILS],
  ]],
  // The query string is not part of the path.
  [combined("/simple/six/six-1.16.0-py2.py3-none-any.whl?x=1#sha256=ab", PIP_AGENT), [
    "LOGDOWNLOAD",
    ["six-1.16.0-py2.py3-none-any.whl", H, T, ...PIP_DETAILS],
  ]],
  // pip's PEP 658 metadata fetch before it picks a version: counted apart, naming the wheel.
  [combined("/simple/numpy/numpy-1.26.4-cp39-cp39-linux_armv7l.whl.metadata", PIP_AGENT), [
    "LOGMETADATA",
    ["numpy-1.26.4-cp39-cp39-linux_armv7l.whl", H, T, ...PIP_DETAILS],
  ]],
  [combined("/simple/six/six-1.16.0-py2.py3-none-any.whl.metadata", UV_AGENT), [
    "LOGMETADATA",
    ["six-1.16.0-py2.py3-none-any.whl", H, T, ...UV_DETAILS],
  ]],
  [combined("/simple/Django_Rest/", PIP_AGENT), [
    "LOGSEARCH",
    ["django-rest", H, T, ...PIP_DETAILS],
  ]],
  // uv's index lookups are not searches (the table's search rule is pip's only).
  [combined("/simple/django/", UV_AGENT), null],
  [combined("/simple/", PIP_AGENT), null],
  [combined("/simple/", BROWSER), null],
  [combined("/simple/numpy/", BROWSER), null],
  [combined("/project/", BROWSER), null],
  [combined("/project/Numpy/json/", BROWSER), ["LOGJSON", ["numpy", H, T, "mozilla"]]],
  [combined("/project/numpy/", BROWSER), ["LOGPROJECT", ["numpy", H, T, "mozilla"]]],
  [combined("/project/numpy/", PIP_AGENT), ["LOGPROJECT", ["numpy", H, T, "pip"]]],
  [combined("/", BROWSER), ["LOGPAGE", ["home", H, T, "mozilla"]]],
  [combined("/index.html", "Wget/1.21"), ["LOGPAGE", ["home", H, T, "wget"]]],
  [combined("/packages.html", BROWSER), ["LOGPAGE", ["packages", H, T, "mozilla"]]],
  [combined("/faq.html", "Googlebot"), ["LOGPAGE", ["faq", H, T, "googlebot"]]],
  [combined("/styles.css", BROWSER), null],
  [combined("/packages.json", BROWSER), null],
  // IPv6 clients.
  [combined("/", BROWSER, { host: "2001:db8::1" }), [
    "LOGPAGE",
    ["home", "2001:db8::1", T, "mozilla"],
  ]],
  // Another time zone.
  [combined("/", BROWSER, { time: "23/Nov/2026:19:41:26 -0500" }), [
    "LOGPAGE",
    ["home", H, T, "mozilla"],
  ]],
  // Not 200, not GET, no user agent: never logged.
  [combined("/simple/six/six-1.16.0-py2.py3-none-any.whl", PIP_AGENT, { status: 304 }), null],
  [combined("/simple/six/six-1.16.0-py2.py3-none-any.whl", PIP_AGENT, { status: 404 }), null],
  [combined("/", BROWSER, { method: "HEAD" }), null],
  [combined("/", BROWSER, { method: "POST" }), null],
  [combined("/", "-"), null],
  // A NUL in an agent (Apache writes \x00) is removed from the summary.
  [
    `${H} - - [24/Nov/2026:00:41:26 +0000] "GET / HTTP/1.1" 200 10 "-" "Bad\\x00Bot/1.0"`,
    ["LOGPAGE", ["home", H, T, "badbot"]],
  ],
];

/** Lines no format accepts: counted and skipped. */
export const MALFORMED = [
  "",
  "garbage",
  '192.0.2.7 - - [not a time] "GET / HTTP/1.1" 200 10 "-" "x"',
  '192.0.2.7 - - [24/Nov/2026:00:41:26 +0000] "GET / HTTP/1.1" 2x0 10 "-" "x"',
  '192.0.2.7 - - [24/Nov/2026:00:41:26 +0000] "GET / HTTP/1.1" 200 10 "-"',
  '192.0.2.7 - - [24/Nov/2026:00:41:26 +0000] "GET / HTTP/1.1 200 10 "-" "x"',
  '192.0.2.7 - - [32/Foo/2026:00:41:26 +0000] "GET / HTTP/1.1" 200 10 "-" "x"',
];
