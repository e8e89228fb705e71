import { formatDuration } from '../core/duration.js';
import { formatStamp, historyPathFor, parseHistory } from '../core/history.js';
import { deriveState } from '../core/history-state.js';
import { readHistoryTail } from '../core/history-tail.js';
import { fingerprint } from '../core/key.js';

/** What a finished rotation did, as `rotate` reports it. */
export interface Rotation {
  keyFile: string;
  key: string;
  previous: string;
  time: Date;
  graceMs?: number;
  revoke: boolean;
}

/**
 * The notes `rotate` prints on stderr: which key replaced which (by fingerprint), the old key's fate, and
 * that clients need the new key. The fate is read back from the history as servers read it: a rotation of
 * a key the history did not name as current (an interrupted rotation, a key file changed by hand) opens
 * no window there, and saying otherwise would mislead.
 */
export async function rotationNotes(rotation: Rotation): Promise<string> {
  const { keyFile, key, previous, time, graceMs } = rotation;
  const tail = await readHistoryTail(historyPathFor(keyFile)).catch(() => undefined);
  const state = tail && deriveState(parseHistory(tail.text).entries, !tail.truncated);
  const fate = rotation.revoke
    ? 'The old key is revoked: servers refuse it as soon as they see the new key file.'
    : state && state.previous?.key !== previous
      ? 'The old key gets no window: the history did not name it as the current key (an interrupted rotation, or a key file '
        + 'changed by hand), so servers refuse it as soon as they see the new key file.'
      : graceMs !== undefined
        ? `The old key stays valid until ${formatStamp(new Date(time.getTime() + graceMs))} (--grace ${formatDuration(graceMs)}).`
        : 'The old key stays valid for the server\'s own grace window (its --grace / QWEN_KEY_GRACE; 0 ends it at once).';
  return `Rotated the key in ${keyFile}: ${fingerprint(previous)} -> ${fingerprint(key)}; logged in ${historyPathFor(keyFile)}.\n`
    + `${fate}\nRunning servers pick up the new key by themselves; update your clients with the new key `
    + '(then check with "manage-key test").\n';
}
