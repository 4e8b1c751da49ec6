import { assertEquals, assertThrows } from "./assert.ts";
import { parseDuration } from "../../src/cli/duration.ts";
import { UsageError } from "../../src/errors.ts";

const S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;

Deno.test("parseDuration accepts unit forms", () => {
  const cases: [string, number][] = [
    ["3h", 3 * H],
    ["90m", 90 * M],
    ["1d", D],
    ["1h30m", H + 30 * M],
    ["45s", 45 * S],
    ["1d2h3m4s", D + 2 * H + 3 * M + 4 * S],
    ["1.5h", 1.5 * H],
    ["5 minutes", 5 * M],
    ["1 hour 30 minutes", H + 30 * M],
    ["2 hours, 5 mins", 2 * H + 5 * M],
    ["1 day", D],
    ["10 sec", 10 * S],
    [" 3H ", 3 * H],
    ["0s", 0],
  ];
  for (const [text, ms] of cases) assertEquals(parseDuration(text), ms, text);
});

Deno.test("parseDuration accepts clock forms and plain seconds", () => {
  assertEquals(parseDuration("2:30:00"), 2 * H + 30 * M);
  assertEquals(parseDuration("12:00"), 12 * H);
  assertEquals(parseDuration("0:00:45"), 45 * S);
  assertEquals(parseDuration("36:00:00"), 36 * H);
  assertEquals(parseDuration("300"), 300 * S);
  assertEquals(parseDuration("0.5"), 500);
});

Deno.test("parseDuration rejects garbage with a UsageError naming the text", () => {
  for (
    const text of [
      "",
      "   ",
      "abc",
      "3x",
      "h",
      "3h garbage",
      "1h 2h",
      "-5",
      "12:60",
      "1:2:3",
      "1:00:00:00",
      "3 fortnights",
      "5m3",
    ]
  ) {
    const error = assertThrows(() => parseDuration(text), UsageError);
    assertEquals(error.message.startsWith(`invalid duration '${text}'`), true, error.message);
  }
});
