/**
 * How a use case reports progress: stages with a count and events. The use cases take one;
 * `createProgress` writes them to stderr (a bar on a terminal, JSON lines otherwise: CI, pipes, log
 * files) for the CLI and the benches, `quietProgress` says nothing.
 */
import cliProgress from 'cli-progress';
import type { TrainCallbacks } from '../train/events.js';

export interface Progress {
  /** A stage with a known total (0 = unknown): update(done, extra fields). */
  stage(name: string, total: number): StageProgress;
  event(name: string, fields: Record<string, unknown>): void;
}

export interface StageProgress {
  update(done: number, fields?: Record<string, unknown>): void;
  done(fields?: Record<string, unknown>): void;
}

/** A Progress that reports nothing (tests, library callers that do not want output). */
export function quietProgress(): Progress {
  const noop: StageProgress = { update() {}, done() {} };
  return { stage: () => noop, event() {} };
}

/** Bar per epoch; epoch summaries as events. */
export function trainCallbacks(progress: Progress, label: string): TrainCallbacks {
  let bar: StageProgress | null = null;
  let barEpoch = -1;
  return {
    onStep(e) {
      if (e.epoch !== barEpoch) {
        bar = progress.stage(`${label} ${e.epoch}`, e.stepsPerEpoch);
        barEpoch = e.epoch;
      }
      bar!.update(e.step, { loss: e.loss, [e.rateUnit]: Math.round(e.rate) });
    },
    onEpoch(e) {
      bar?.done({ loss: e.loss, ...e.metrics });
      bar = null;
      barEpoch = -1;
      progress.event('epoch', { run: label, epoch: e.epoch, of: e.epochs, loss: e.loss, ...e.metrics, best: e.best, seconds: e.seconds });
    },
    onMessage(msg) {
      progress.event('message', { run: label, message: msg });
    },
  };
}

function fmt(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(4)) : String(v)}`)
    .join('  ');
}

export function createProgress(opts: { json?: boolean; quiet?: boolean } = {}): Progress {
  const tty = process.stderr.isTTY && !opts.json;
  if (opts.quiet) return quietProgress();
  if (!tty) {
    return {
      stage(name, total) {
        let last = 0;
        return {
          update(done, fields = {}) {
            const now = Date.now();
            if (now - last < 1000 && done !== total) return; // at most one line a second
            last = now;
            process.stderr.write(JSON.stringify({ event: 'progress', stage: name, done, total, ...fields }) + '\n');
          },
          done(fields = {}) {
            process.stderr.write(JSON.stringify({ event: 'done', stage: name, ...fields }) + '\n');
          },
        };
      },
      event(name, fields) {
        process.stderr.write(JSON.stringify({ event: name, ...fields }) + '\n');
      },
    };
  }
  return {
    stage(name, total) {
      const bar = new cliProgress.SingleBar(
        { format: `${name.padEnd(14)} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}  {info}`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(total, 1), 0, { info: '' });
      return {
        update(done, fields = {}) {
          if (total === 0) bar.setTotal(Math.max(done, 1));
          bar.update(done, { info: fmt(fields) });
        },
        done(fields = {}) {
          bar.update(total === 0 ? bar.getTotal() : total, { info: fmt(fields) });
          bar.stop();
        },
      };
    },
    event(name, fields) {
      process.stderr.write(`${name}: ${fmt(fields)}\n`);
    },
  };
}
