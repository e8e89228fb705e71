// Requests whose `100 Continue` the server held back (its `checkContinue` event), until the body is wanted.
const held = new WeakSet<object>();

/** Marks a request sent with `Expect: 100-continue` whose 100 is held back: nothing is sent before the key is checked. */
export function holdContinue(req: object): void {
  held.add(req);
}

/**
 * Sends the held-back `100 Continue`, once, right before the body is read: a request answered without
 * reading its body (401, 413, 400...) never gets one, so its client never sends the body.
 */
export function sendHeldContinue(req: object, res: { writeContinue(): void }): void {
  if (held.delete(req)) res.writeContinue();
}
