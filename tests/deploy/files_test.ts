/**
 * The deployment files in `deploy/`: the example configuration is read without a warning by
 * every command it configures, and the systemd units start what they say they start.
 */
import assert from "node:assert/strict";
import { run } from "../cli/helpers.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;

Deno.test("the example piwheels.conf configures each command without warnings", async () => {
  const env = { PIW_CONFIG_PATHS: `${DEPLOY}piwheels.conf` };
  const master = await run(["master"], { env });
  assert.equal(master.code, 0, master.stderr);
  assert.equal(master.stderr, "");
  assert.equal(master.options?.outputPath, "/var/www/piw");
  assert.equal(master.options?.statusQueue, "ipc:///tmp/piw-status");
  const slave = await run(["slave"], { env });
  assert.equal(slave.code, 0, slave.stderr);
  assert.equal(slave.stderr, "");
  assert.equal(slave.options?.master, "piw-master.local");
  const initdb = await run(["initdb"], { env });
  assert.equal(initdb.options?.user, "piwheels");
  for (const command of ["monitor", "sense"]) {
    const result = await run([command], { env });
    assert.equal(result.stderr, "", command);
    assert.equal(result.options?.controlQueue, "ipc:///tmp/piw-control", command);
  }
});

Deno.test("the systemd units: master and slave are Type=notify, slave restarts without rebooting", () => {
  const master = Deno.readTextFileSync(`${DEPLOY}systemd/piw-master.service`);
  assert.match(master, /^Type=notify$/m);
  // piwheels' names, which scripts/install puts in /usr/local/bin.
  assert.match(master, /^ExecStart=\/usr\/local\/bin\/piw-master$/m);
  const slave = Deno.readTextFileSync(`${DEPLOY}systemd/piw-slave.service`);
  // As piwheels' slave unit: notify with a 2-minute watchdog.
  assert.match(slave, /^Type=notify$/m);
  assert.match(slave, /^WatchdogSec=2min$/m);
  assert.match(slave, /^ExecStart=\/usr\/local\/bin\/piw-slave$/m);
  assert.match(slave, /^Restart=on-failure$/m);
  assert.doesNotMatch(slave, /^(StartLimitAction|FailureAction)=reboot/m);
  assert.match(
    Deno.readTextFileSync(`${DEPLOY}systemd/piw-sense.service`),
    /^ExecStart=\/usr\/local\/bin\/piw-sense$/m,
  );
  assert.match(
    Deno.readTextFileSync(`${DEPLOY}apache/piw.conf`),
    /CustomLog "\|\/usr\/local\/bin\/piw-logger --drop" combined/,
  );
});
