/**
 * `scripts/provision-slave`, through its `--dry-run` (nothing is installed here): what it would
 * install exists in the Debian archive, the unit it would install is one systemd accepts, and bad
 * options cost one line.
 */
import assert from "node:assert/strict";
import { run } from "../cli/helpers.ts";

const SCRIPT = new URL("../../scripts/provision-slave", import.meta.url).pathname;

async function provision(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("bash", { args: [SCRIPT, ...args], stdin: "null" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** The packages a dry run lists (the required ones, then the optional ones). */
function listed(stdout: string): { required: string[]; optional: string[] } {
  const line = (prefix: string) =>
    stdout.split("\n").find((l) => l.startsWith(prefix))?.slice(prefix.length).trim().split(
      /\s+/,
    ) ?? [];
  return {
    required: line("packages:"),
    optional: line("optional packages (where the archive has them):"),
  };
}

/** The unit text a dry run shows (indented by four spaces after `unit: PATH`). */
function unitText(stdout: string): string {
  const lines = stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith("unit: "));
  assert.ok(start >= 0, stdout);
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith("    ") && l !== "    " && l.trim() !== "") break;
    body.push(l.slice(4));
  }
  return body.join("\n").trimEnd() + "\n";
}

function machineRelease(): string {
  try {
    const text = Deno.readTextFileSync("/etc/os-release");
    return /^VERSION_CODENAME=(\S+)$/m.exec(text)?.[1] ?? "";
  } catch {
    return "";
  }
}

function userExists(name: string): boolean {
  return new Deno.Command("getent", { args: ["passwd", name], stdout: "null" }).outputSync()
    .success;
}

const user = `piwt${crypto.randomUUID().slice(0, 8)}`;

Deno.test("--dry-run lists the packages, the user, the swap and the unit, and changes nothing", async () => {
  const unitBefore = await Deno.stat("/etc/systemd/system/piw-slave.service").then(
    () => true,
    () => false,
  );
  for (const [release, postgres] of [["bookworm", "15"], ["trixie", "17"]]) {
    const { code, stdout, stderr } = await provision([
      "--dry-run",
      "--master",
      "piw-master.local",
      "--user",
      user,
      "--release",
      release,
      "--extra-index-url",
      "https://piw.example.org/simple",
    ]);
    assert.equal(code, 0, stderr);
    const { required, optional } = listed(stdout);
    for (
      const name of ["build-essential", "rustc", "cargo", "libhdf5-dev", "libopenblas-dev", "swig"]
    ) assert.ok(required.includes(name), `${release}: ${name}`);
    assert.ok(required.includes(`postgresql-server-dev-${postgres}`), release);
    assert.deepEqual(optional, ["liblgpio-dev"]);
    assert.equal(new Set(required).size, required.length, `${release}: a package listed twice`);
    assert.match(
      stdout,
      new RegExp(
        `^would run: env DEBIAN_FRONTEND=noninteractive apt-get install -y build-essential `,
        "m",
      ),
    );
    assert.match(stdout, new RegExp(`^user: ${user} \\(group ${user},`, "m"));
    assert.match(
      stdout,
      new RegExp(`^would run: useradd -g ${user} -m -s /bin/bash ${user}$`, "m"),
    );
    assert.match(
      stdout,
      /^would set in \/etc\/piwheels\.conf: \[slave\] master = piw-master\.local$/m,
    );
    assert.match(
      stdout,
      /^would set in \/etc\/piwheels\.conf: \[slave\] extra-index-url = https:\/\/piw\.example\.org\/simple$/m,
    );
    assert.match(stdout, /^(swap: |provision-slave: no swap added: )/m);
    const unit = unitText(stdout);
    assert.match(unit, new RegExp(`^User=${user}$`, "m"));
    assert.match(unit, /^Type=notify$/m);
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/piw-slave$/m);
    assert.match(stdout, /^would run: systemctl enable piw-slave\.service$/m);
  }
  assert.equal(userExists(user), false, "a dry run creates no user");
  const unitAfter = await Deno.stat("/etc/systemd/system/piw-slave.service").then(
    () => true,
    () => false,
  );
  assert.equal(unitAfter, unitBefore, "a dry run installs no unit");
});

Deno.test("--dry-run on a board with less than 2 GiB of memory adds 1 GiB of swap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-meminfo-" });
  try {
    await Deno.writeTextFile(`${dir}/meminfo`, "MemTotal:        1000000 kB\nMemFree: 1 kB\n");
    const out = await new Deno.Command("bash", {
      args: [SCRIPT, "--dry-run", "--master", "m"],
      env: { PIW_PROVISION_MEMINFO: `${dir}/meminfo` },
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const dphys = new Deno.Command("sh", {
      args: ["-c", "command -v dphys-swapfile"],
      stdout: "null",
    }).outputSync().success;
    if (dphys) {
      assert.match(stdout, /dphys-swapfile/);
    } else {
      assert.match(stdout, /^swap: \/swapfile of 1 GiB$/m);
      const swapOn = Deno.readTextFileSync("/proc/swaps").includes("/swapfile ");
      if (!swapOn) assert.match(stdout, /^would run: swapon \/swapfile$/m);
    }
    await Deno.writeTextFile(`${dir}/meminfo`, "MemTotal:        4000000 kB\n");
    const big = await new Deno.Command("bash", {
      args: [SCRIPT, "--dry-run", "--master", "m"],
      env: { PIW_PROVISION_MEMINFO: `${dir}/meminfo` },
      stdin: "null",
    }).output();
    assert.match(new TextDecoder().decode(big.stdout), /no swap added: 3906 MiB of memory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const release = machineRelease();
const aptKnows = (name: string) =>
  /Candidate: (?!\(none\))\S+/.test(
    new TextDecoder().decode(
      new Deno.Command("apt-cache", { args: ["policy", name], stderr: "null" }).outputSync()
        .stdout,
    ),
  );
const haveArchive = ["bookworm", "trixie"].includes(release) &&
  (() => {
    try {
      return aptKnows("libc6");
    } catch {
      return false;
    }
  })();

Deno.test({
  name: "every package it would install exists in this machine's Debian archive",
  // The names are checked against the archive apt knows here (bookworm or trixie, amd64).
  ignore: !haveArchive,
  fn: async () => {
    const { code, stdout, stderr } = await provision([
      "--dry-run",
      "--master",
      "m",
      "--release",
      release,
    ]);
    assert.equal(code, 0, stderr);
    const { required } = listed(stdout);
    assert.ok(required.length > 50, stdout);
    // One apt-cache call for all: a block per package it knows, none for unknown names.
    const out = await new Deno.Command("apt-cache", { args: ["policy", ...required] }).output();
    const text = new TextDecoder().decode(out.stdout);
    const known = new Set(
      [...text.matchAll(/^(\S+):\n\s+Installed: .*\n\s+Candidate: (\S+)/gm)]
        .filter((m) => m[2] !== "(none)")
        .map((m) => m[1]),
    );
    const missing = required.filter((name) => !known.has(name));
    assert.deepEqual(missing, [], `not in ${release}'s archive: ${missing.join(" ")}`);
  },
});

const haveAnalyze = new Deno.Command("sh", {
  args: ["-c", "command -v systemd-analyze"],
  stdout: "null",
}).outputSync().success;

Deno.test({
  name: "the unit it installs passes systemd-analyze verify",
  ignore: !haveAnalyze,
  fn: async () => {
    const { stdout } = await provision(["--dry-run", "--master", "m", "--user", user]);
    const dir = await Deno.makeTempDir({ prefix: "piw-unit-" });
    try {
      // verify insists that ExecStart exists: point it at an executable that does.
      const exec = `${dir}/piw-slave`;
      await Deno.writeTextFile(exec, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const unit = unitText(stdout);
      assert.match(unit, /^ExecStart=\/usr\/local\/bin\/piw-slave$/m);
      await Deno.writeTextFile(
        `${dir}/piw-slave.service`,
        unit.replace(/^ExecStart=\S+/m, `ExecStart=${exec}`),
      );
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", `${dir}/piw-slave.service`],
      }).output();
      const said = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      // verify exits 0 even for lines it ignores ("Failed to parse ..."), so it must say nothing.
      assert.equal(out.code, 0, said);
      assert.equal(said.trim(), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("bad options exit non-zero with one line", async () => {
  const cases: [string[], RegExp][] = [
    [["--dry-run"], /--master HOST is required/],
    [["--dry-run", "--master"], /option '--master' needs a value/],
    [["--dry-run", "--master", "m", "--frobnicate"], /unknown option '--frobnicate'/],
    [["--dry-run", "--master", "m; rm -rf /"], /invalid --master 'm; rm -rf \/'/],
    [["--dry-run", "--master", "m", "--user", "Root!"], /invalid --user 'Root!'/],
    [["--dry-run", "--master", "m", "--release", "sid"], /unsupported release 'sid'/],
    [["--dry-run", "--master", "m", "--extra-index-url", "x y"], /invalid --extra-index-url/],
  ];
  for (const [args, message] of cases) {
    const { code, stdout, stderr } = await provision(args);
    assert.notEqual(code, 0, args.join(" "));
    assert.equal(stdout, "", args.join(" "));
    const lines = stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^provision-slave: /);
    assert.match(lines[0], message);
  }
  const help = await provision(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--dry-run/);
});

Deno.test("the configuration it writes sets the [slave] keys, keeps the rest, and is idempotent", async () => {
  const dir = await Deno.makeTempDir({ prefix: "piw-conf-" });
  const conf = `${dir}/piwheels.conf`;
  const set = async (key: string, value: string) => {
    const out = await new Deno.Command("python3", {
      args: [
        new URL("../../scripts/conf-set", import.meta.url).pathname,
        conf,
        "slave",
        key,
        value,
      ],
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  };
  try {
    // Nothing there yet: a [slave] section is made.
    await set("master", "m1");
    assert.equal(await Deno.readTextFile(conf), "[slave]\nmaster = m1\n");
    await Deno.writeTextFile(
      conf,
      "# farm\n[master]\nmaster = not-this-one\n[slave]\n# master = old\nmaster = old\n" +
        "timeout = 3h\nmaster_x = 1\nmaster = duplicate\n[monitor]\nx = 1\n",
    );
    await set("master", "piw-master.local");
    await set("extra-index-url", "https://piw.example.org/simple");
    const once = await Deno.readTextFile(conf);
    assert.equal(
      once,
      "# farm\n[master]\nmaster = not-this-one\n[slave]\n# master = old\n" +
        "master = piw-master.local\ntimeout = 3h\nmaster_x = 1\n" +
        "extra-index-url = https://piw.example.org/simple\n[monitor]\nx = 1\n",
    );
    await set("master", "piw-master.local");
    await set("extra-index-url", "https://piw.example.org/simple");
    assert.equal(await Deno.readTextFile(conf), once, "a second run changes nothing");
    // piw reads what it wrote (its one warning is for the fixture's own unknown key).
    const slave = await run(["slave"], { env: { PIW_CONFIG_PATHS: conf } });
    assert.match(slave.stderr, /^[^\n]*:8: unknown option 'master-x' for piw slave; ignored\n$/);
    assert.equal(slave.options?.master, "piw-master.local");
    assert.deepEqual(slave.options?.extraIndexUrl, ["https://piw.example.org/simple"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
