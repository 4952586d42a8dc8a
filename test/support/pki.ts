/**
 * A private PKI made with openssl at test time: a CA, a server certificate for
 * 127.0.0.1 signed by it, and an unrelated CA that signed nothing the server
 * presents. Tests skip TLS cases when openssl is missing (`OPENSSL`).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const OPENSSL = spawnSync("openssl", ["version"]).status === 0;

export interface Pki {
  dir: string;
  /** The CA that signed the server's certificate (PEM file). */
  ca: string;
  /** Another CA, which signed nothing the server presents (PEM file). */
  otherCa: string;
  /** The server's key and certificate (PEM texts). */
  key: string;
  cert: string;
}

/** Makes the PKI in a new temporary folder; the caller removes `dir`. */
export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "test-pki-"));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => {
    const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${run.stderr}`);
  };
  for (const name of ["ca", "other-ca"]) {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      at(`${name}.key`),
      "-out",
      at(`${name}.pem`),
      "-days",
      "2",
      "-subj",
      `/CN=Test ${name}`,
    );
  }
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", at("server.key"), "-out", at("server.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(at("server.ext"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
  openssl(
    "x509",
    "-req",
    "-in",
    at("server.csr"),
    "-CA",
    at("ca.pem"),
    "-CAkey",
    at("ca.key"),
    "-CAcreateserial",
    "-out",
    at("server.pem"),
    "-days",
    "2",
    "-extfile",
    at("server.ext"),
  );
  return {
    dir,
    ca: at("ca.pem"),
    otherCa: at("other-ca.pem"),
    key: readFileSync(at("server.key"), "utf8"),
    cert: readFileSync(at("server.pem"), "utf8"),
  };
}
