// A one-line progress bar for long operator commands (position/head, percent, events/s, ETA).
// Redraws in place on a terminal; elsewhere (CI logs, pipes) prints a plain line every few seconds.

export interface ProgressOptions {
  readonly label: string;
  /** Where to draw: stderr by default, so that stdout stays parseable. */
  readonly stream?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Minimum time between two redraws on a terminal, in ms. */
  readonly redrawMs?: number;
  /** Minimum time between two lines when not on a terminal, in ms. */
  readonly logEveryMs?: number;
  readonly now?: () => number;
}

const WIDTH = 28;

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressBar {
  private readonly stream: NodeJS.WriteStream | NodeJS.WritableStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = 'isTTY' in this.stream && this.stream.isTTY === true;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
    this.lastDraw = this.started;
  }

  /** The current line: `label [####----]  45.2%  452,000/1,000,000  61,234 ev/s  ETA 9s`. */
  line(position: number, head: number): string {
    const elapsed = (this.now() - this.started) / 1000;
    const fraction = head > 0 ? Math.min(1, position / head) : 1;
    const filled = Math.round(fraction * WIDTH);
    const rate = elapsed > 0 ? position / elapsed : 0;
    const eta = rate > 0 ? (head - position) / rate : Number.NaN;
    return (
      `${this.options.label} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ` +
      `${(fraction * 100).toFixed(1).padStart(5)}%  ${formatCount(position)}/${formatCount(head)}  ` +
      `${formatCount(rate)} ev/s  ETA ${formatDuration(eta)}`
    );
  }

  update(position: number, head: number): void {
    const now = this.now();
    const every = this.tty ? (this.options.redrawMs ?? 100) : (this.options.logEveryMs ?? 5000);
    if (now - this.lastDraw < every) return;
    this.lastDraw = now;
    this.draw(this.line(position, head));
  }

  /** Draws the final state and ends the line. */
  done(position: number, head: number): void {
    this.draw(this.line(position, head));
    if (this.tty) this.stream.write('\n');
    this.drawn = false;
  }

  private draw(text: string): void {
    if (this.tty) {
      this.stream.write(`\r${text}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(`${text}\n`);
    }
  }

  /** True while a redrawn line is on screen (so that other output should start on a new line). */
  get pending(): boolean {
    return this.drawn;
  }
}
