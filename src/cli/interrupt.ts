/**
 * Ctrl-C for training commands: the first SIGINT (or SIGTERM) asks the training loop to stop after
 * the step under way; it writes a checkpoint of that step and the command exits 130 (143), saying
 * that `--resume` continues. A second signal stops the process at once (the last checkpoint stays).
 * A data-parallel worker takes it the same way: its ranks agree on the step (src/train/loop.ts).
 */
import { CancelledError } from '../core/errors.js';

export async function interruptible<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  /** what the first signal does, as the message says it */
  stopping = 'stopping after the step under way and writing a checkpoint (--resume continues)',
): Promise<T> {
  const controller = new AbortController();
  let received: 'SIGINT' | 'SIGTERM' | null = null;
  let at = 0;
  const on = (signal: 'SIGINT' | 'SIGTERM') => {
    // one Ctrl-C can arrive twice: from the terminal, and passed on by bin/atelier.js
    if (received && performance.now() - at < 1000) return;
    if (received) process.exit(signal === 'SIGINT' ? 130 : 143);
    received = signal;
    at = performance.now();
    process.stderr.write(`atelier: ${signal}: ${stopping}; ${signal} again stops at once\n`);
    controller.abort(signal);
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await fn(controller.signal);
  } catch (e) {
    if (received && e instanceof CancelledError && !e.signal) throw new CancelledError(e.message.replace(/ cancelled$/, ''), received);
    throw e;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
