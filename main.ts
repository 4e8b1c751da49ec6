/**
 * The `piw` program: `deno task piw <command> [options]`. Called by one of piwheels' names
 * (`piw-master`, `piw-add`, ...: a symlink to the compiled binary), it runs that command.
 * @module
 */
import process from "node:process";
import { commandOfProgramName, runCli } from "./src/cli/mod.ts";

if (import.meta.main) {
  // argv[0] is the name called (a symlink's); the executable's own path resolves symlinks.
  const command = commandOfProgramName(process.argv0) ?? commandOfProgramName(Deno.execPath());
  Deno.exit(await runCli(command === null ? Deno.args : [command, ...Deno.args]));
}
