// Child servers (realtime-server, the socket.io server) and what /proc says about them and the
// machine.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Starts `bin args...` and resolves once it prints `listening on http://HOST:PORT`, to
 * `{ url, host, port, pid, stop }`. stderr is kept for error messages.
 */
export function startServer(bin, args, { cwd, env, timeoutMs = 30000, name = bin } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${name}: no "listening on" line within ${timeoutMs} ms`)), timeoutMs);
    function fail(e) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${e.message}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`));
    }
    child.stderr.on("data", (d) => {
      err += d;
      if (err.length > 100000) err = err.slice(-50000);
    });
    child.on("exit", (code, signal) => fail(new Error(`${name} exited (${code ?? signal}) before listening`)));
    child.on("error", fail);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/([^\s:]+):(\d+))/.exec(out);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        child.stdout.removeAllListeners("data");
        child.stdout.resume(); // keep draining
        resolve({
          url: m[1],
          host: m[2],
          port: Number(m[3]),
          pid: child.pid,
          stderr: () => err,
          stop: () => stopChild(child),
        });
      }
    });
  });
}

export function stopChild(child) {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    const force = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(force);
      ok();
    });
    child.kill("SIGTERM");
  });
}

/** Resident memory of a process, in bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The machine's load averages (1, 5, 15 min) from /proc/loadavg. */
export function loadavg() {
  try {
    const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
    return [a, b, c];
  } catch {
    return null;
  }
}

/** CPU time (user + system) a process has used so far, in ms (from /proc/PID/stat). */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
