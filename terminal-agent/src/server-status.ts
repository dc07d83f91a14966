/**
 * What the server last said about this agent's terminals, kept in a small JSON file next to the
 * journal (`<journal>.server-status.json`) so that `posbridge-agent doctor`, run beside the
 * agent, can explain a refused serial without connecting as the agent (which would replace the
 * agent's own session). Written by the agent on every `hub.welcome`; never holds a secret.
 *
 * @see docs/protocol/ws.md "Terminal ownership", docs/errors.md
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ERROR_CODES } from '@posbridge/protocol/errors';
import { TERMINAL_SERIAL_PATTERN } from '@posbridge/protocol/ws';

/** One serial the server refused. */
export interface RefusedTerminal {
  readonly serialNumber: string;
  /** The `hub.welcome` code (`WS_SERIAL_FOREIGN`, …). */
  readonly code: string;
  readonly message: string;
}

/** Content of the status file. */
export interface ServerStatus {
  /** When the welcome arrived, ISO 8601. */
  readonly at: string;
  /** The agent's id on the server (the `--agent` of `posbridge-server terminal move`). */
  readonly agentId: string;
  readonly accepted: readonly string[];
  readonly refused: readonly RefusedTerminal[];
}

/** Path of the status file of the journal at `journalPath`. */
export function serverStatusPath(journalPath: string): string {
  return `${journalPath}.server-status.json`;
}

/** Writes `status` atomically (temp file + rename). @throws the file system error. */
export async function writeServerStatus(path: string, status: ServerStatus): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o640 });
  await rename(tmp, path);
}

/** Reads the status file; undefined when it does not exist or is not a status file. */
export async function readServerStatus(path: string): Promise<ServerStatus | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as Partial<ServerStatus>;
    if (typeof value.at !== 'string' || !Array.isArray(value.refused) || !Array.isArray(value.accepted)) return undefined;
    return { at: value.at, agentId: String(value.agentId ?? ''), accepted: value.accepted, refused: value.refused };
  } catch {
    return undefined;
  }
}

/** True when the server may accept `code` later without a change on this machine (the agent retries). */
export function isRetryableRefusal(code: string): boolean {
  return code in ERROR_CODES ? ERROR_CODES[code as keyof typeof ERROR_CODES].retryable : true;
}

/** What to do about a refused serial, for logs and `doctor`. */
export function refusalFix(refusal: RefusedTerminal, agentId: string): string {
  const move = `ask the posbridge administrator to run \`posbridge-server terminal move ${refusal.serialNumber} --agent ${agentId || '<this agent id>'} --reason "…"\``;
  switch (refusal.code) {
    case 'WS_SERIAL_FOREIGN':
      return `the server has this serial registered to another merchant or store: check the serial; if the terminal really changed hands, ${move}. The agent retries by itself`;
    case 'WS_SERIAL_UNCONFIRMED':
      return `another agent of this store owns this serial and this driver cannot read the serial from the terminal: ${move}. The agent retries by itself`;
    case 'WS_SERIAL_CLAIMED':
      return 'another connected agent of this store drives this serial: stop that agent (one terminal, one agent) or fix the serial; this agent retries by itself';
    case 'WS_SERIAL_INVALID':
      return `serials must match ${TERMINAL_SERIAL_PATTERN.source}: fix serialNumber of this terminal in the configuration`;
    case 'WS_TERMINAL_LIMIT':
      return 'the server accepts only so many terminals per agent (POSBRIDGE_MAX_TERMINALS_PER_AGENT): split the terminals over several agents (`posbridge-server agent add`) or raise the limit';
    default:
      return 'see docs/errors.md for this code';
  }
}
