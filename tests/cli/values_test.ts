import { assertEquals, assertThrows } from "./assert.ts";
import {
  expandHome,
  parseFlag,
  parseList,
  parseOrigin,
  parseSize,
  parseTimestamp,
} from "../../src/cli/values.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("parseSize reads binary units and none", () => {
  assertEquals(parseSize("512M"), 512 * 1024 ** 2);
  assertEquals(parseSize("1.5GiB"), 1.5 * 1024 ** 3);
  assertEquals(parseSize("2 g"), 2 * 1024 ** 3);
  assertEquals(parseSize("1000"), 1000);
  assertEquals(parseSize("none"), 0);
  for (const bad of ["", "lots", "2X", "-1G"]) assertThrows(() => parseSize(bad), UsageError);
});

Deno.test("parseTimestamp reads UTC timestamps and rejects impossible dates", () => {
  assertEquals(parseTimestamp("2024-03-01 12:30:05"), new Date("2024-03-01T12:30:05Z"));
  assertEquals(parseTimestamp("2024-03-01T12:30:05Z"), new Date("2024-03-01T12:30:05Z"));
  assertEquals(parseTimestamp("2024-03-01"), new Date("2024-03-01T00:00:00Z"));
  assertEquals(parseTimestamp("2024-03-01 12:30"), new Date("2024-03-01T12:30:00Z"));
  for (const bad of ["yesterday", "2024-13-01", "2024-02-30", "2024-03-01 24:00:00"]) {
    assertThrows(() => parseTimestamp(bad), UsageError);
  }
});

Deno.test("parseFlag and parseList read configuration file values", () => {
  for (const yes of ["true", "Yes", "on", "1"]) assertEquals(parseFlag(yes), true);
  for (const no of ["false", "NO", "off", "0"]) assertEquals(parseFlag(no), false);
  assertThrows(() => parseFlag("perhaps"), UsageError);
  assertEquals(parseList("[a, b ,c]"), ["a", "b", "c"]);
  assertEquals(parseList("single"), ["single"]);
  assertEquals(parseList("[]"), []);
});

Deno.test("expandHome expands only a leading ~", () => {
  assertEquals(expandHome("~/www", "/home/piw"), "/home/piw/www");
  assertEquals(expandHome("~", "/home/piw"), "/home/piw");
  assertEquals(expandHome("/srv/~x", "/home/piw"), "/srv/~x");
  assertEquals(expandHome("~other/x", "/home/piw"), "~other/x");
});

Deno.test("parseOrigin keeps an http(s) origin and refuses anything more or less", () => {
  assertEquals(parseOrigin("https://piw.example.org"), "https://piw.example.org");
  assertEquals(parseOrigin(" https://PIW.example.org/ "), "https://piw.example.org");
  assertEquals(parseOrigin("http://localhost:8080/"), "http://localhost:8080");
  for (
    const bad of [
      "",
      "piw.example.org",
      "ftp://piw.example.org",
      "https://piw.example.org/piw",
      "https://piw.example.org/?x=1",
      "https://piw.example.org/#top",
      "https://user:pw@piw.example.org",
    ]
  ) {
    assertThrows(() => parseOrigin(bad), UsageError);
  }
});
