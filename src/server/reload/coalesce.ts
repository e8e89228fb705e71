/**
 * Wraps `task` so runs never overlap: a call during a run schedules one more run after it, and
 * further calls before that starts join it with the latest argument. Every caller gets the result
 * of a run that started after its call, so a change seen by the caller is never missed.
 * `task` must not reject.
 */
export function coalesced<A, R>(task: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
  let running: Promise<R> | undefined;
  let next: Promise<R> | undefined;
  let nextArg: A;
  const start = (arg: A): Promise<R> => {
    const run = task(arg);
    const tracked: Promise<R> = run.finally(() => {
      if (running === tracked) running = undefined;
    });
    running = tracked;
    return run;
  };
  return (arg: A) => {
    nextArg = arg;
    if (next) return next;
    if (!running) return start(arg);
    next = running.then(() => {
      next = undefined;
      return start(nextArg);
    });
    return next;
  };
}
