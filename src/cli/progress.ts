/**
 * Progress on stderr: a bar on a terminal, JSON lines otherwise (CI, pipes, log files).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** A stage with a known total (0 = unknown): update(done, extra fields). */
  stage(name: string, total: number): StageProgress;
  event(name: string, fields: Record<string, unknown>): void;
}

export interface StageProgress {
  update(done: number, fields?: Record<string, unknown>): void;
  done(fields?: Record<string, unknown>): void;
}

function fmt(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? (Number.isInteger(v) ? v : v.toPrecision(4)) : String(v)}`)
    .join('  ');
}

export function createProgress(opts: { json?: boolean; quiet?: boolean } = {}): Progress {
  const tty = process.stderr.isTTY && !opts.json;
  if (opts.quiet) {
    const noop: StageProgress = { update() {}, done() {} };
    return { stage: () => noop, event() {} };
  }
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
