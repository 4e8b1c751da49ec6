import { assertEquals, assertRejects } from "./assert.ts";
import { run } from "./helpers.ts";
import { ask, confirm, textPromptIO } from "../../src/cli/prompt.ts";
import { DeclinedError } from "../../src/errors.ts";

/** Ask once with this input; returns the answer (or the error) and what was written. */
async function answer(input: string, question = "Proceed?") {
  let written = "";
  const io = textPromptIO(input, (text) => written += text);
  try {
    return { result: await ask(question, { io }), written };
  } catch (error) {
    return { result: error, written };
  }
}

Deno.test("ask: Enter, y and yes mean yes; n and no mean no (any case)", async () => {
  for (const input of ["\n", "y\n", "yes\n", "  Y \n", "YES\r\n"]) {
    assertEquals((await answer(input)).result, true, JSON.stringify(input));
  }
  for (const input of ["n\n", "no\n", "NO\n"]) {
    assertEquals((await answer(input)).result, false, JSON.stringify(input));
  }
  assertEquals((await answer("n")).result, false, "a last line without a newline counts");
});

Deno.test("ask prints the question with [Y/n] and re-asks after an invalid response", async () => {
  const { result, written } = await answer("maybe\nyes\n", "Do it?");
  assertEquals(result, true);
  assertEquals(written, "Do it? [Y/n] Invalid response\nDo it? [Y/n] ");
});

Deno.test("ask at end of input declines instead of crashing", async () => {
  const { result } = await answer("");
  assertEquals(result instanceof DeclinedError, true);
  assertEquals((await answer("what\n")).result instanceof DeclinedError, true);
});

Deno.test("confirm throws DeclinedError on no and skips the question with yes", async () => {
  let written = "";
  const io = textPromptIO("n\n", (text) => written += text);
  await assertRejects(confirm("Proceed?", { io }), DeclinedError);
  assertEquals(await confirm("Proceed?", { yes: true, io: textPromptIO("", () => {}) }), true);
  assertEquals(written, "Proceed? [Y/n] ");
});

Deno.test("ask reads successive answers from one input", async () => {
  let written = "";
  const io = textPromptIO("y\nn\n", (text) => written += text);
  assertEquals([await ask("One?", { io }), await ask("Two?", { io })], [true, false]);
  assertEquals(written, "One? [Y/n] Two? [Y/n] ");
});

Deno.test("runCli routes prompts to its io and exits 2 when the user declines", async () => {
  const body = async (options: Record<string, unknown>) => {
    await confirm("Proceed?", { yes: options.yes as boolean });
    return 0;
  };
  let written = "";
  const prompt = textPromptIO("n\n", (text) => written += text);
  const declined = await run(["remove", "foo"], { body, prompt });
  assertEquals([declined.code, declined.stderr, written], [2, "Cancelled\n", "Proceed? [Y/n] "]);
  const yes = await run(["remove", "foo", "-y"], { body, prompt: textPromptIO("", () => {}) });
  assertEquals(yes.code, 0);
});
