/**
 * One exchange at a time: a DOE mailbox holds one object per direction (PCIe 6.30) and the
 * spdm-emu socket has no request ids, so every requester transport queues its exchanges.
 */

/** Runs queued work one after another; a failure does not stop what was queued behind it. */
export type SerialQueue = <T>(work: () => Promise<T>) => Promise<T>;

/** A fresh queue. Never throws itself: each run settles as its own `work` does. */
export function serialQueue(): SerialQueue {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work, work);
    chain = run.catch(() => undefined);
    return run;
  };
}
