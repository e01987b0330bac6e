/**
 * A throwaway certificate for 127.0.0.1, made with openssl for the TLS contract runs. Returns null
 * when openssl is missing (those runs are then skipped).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let made: { key: string; cert: string } | null | undefined;

export function localCertificate(): { key: string; cert: string } | null {
  if (made !== undefined) return made;
  const dir = mkdtempSync(join(tmpdir(), "mcu-mqtt-tls-"));
  try {
    execFileSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      { stdio: "ignore" },
    );
    made = { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } catch {
    made = null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return made;
}
