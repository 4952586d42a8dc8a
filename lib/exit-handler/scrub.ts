/**
 * Keeps the credential out of everything the exit handler prints: Azure DevOps
 * answers and network errors are printed to the KFP run log, which everyone who
 * can read the run sees, and an answer may echo what it was sent.
 */
import type { AzdoCredential } from "./azdo-callback.ts";

const MASK = "***";

export class Scrubber {
  private readonly secrets = new Set<string>();

  /** A credential in every form it travels in: the PAT and its Basic header value, or the token. */
  add(credential: AzdoCredential): void {
    if (credential.kind === "pat") {
      this.addText(credential.pat);
      this.addText(Buffer.from(`:${credential.pat}`).toString("base64"));
    } else {
      this.addText(credential.token);
    }
  }

  addText(secret: string | undefined): void {
    if (secret?.trim()) this.secrets.add(secret.trim());
  }

  /** The text with every known secret masked, longest first so no part of one is left behind. */
  scrub(text: string): string {
    let out = text;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
    return out;
  }
}
