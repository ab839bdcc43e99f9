/**
 * All terminal I/O of `loadmon top`, in one place, so that the renderer
 * (format/top-screen.ts) stays a pure function of the model. Key decoding is
 * Node's own readline.emitKeypressEvents (maintained with Node, knows the
 * arrow/Enter/Esc sequences of xterm, the Linux console, screen and tmux);
 * the screen sequences come from `ansi-escapes` (docs/top.md says why).
 *
 * The terminal is given back as found on every way out: `close()` from the
 * command (quit, errors), the process's `exit` event (SIGINT/SIGTERM end the
 * process through cli/shutdown.ts, an uncaught exception), and SIGHUP (the
 * SSH session died: nothing may be left to write to, so writes are tried).
 * The alternate-screen leave sequence is the last thing written.
 */

import { emitKeypressEvents } from 'node:readline';
import type { ReadStream, WriteStream } from 'node:tty';

import ansiEscapes from 'ansi-escapes';

export type TopKey = 'up' | 'down' | 'open' | 'back' | 'group' | 'capture' | 'pause' | 'quit';

interface KeypressInfo {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
}

/** What a key press means to `top` (null: nothing). Pure, for the tests. */
export function keyAction(str: string | undefined, key: KeypressInfo | undefined): TopKey | null {
  const name = key?.name;
  if (key?.ctrl) return name === 'c' ? 'quit' : null;
  switch (name) {
    case 'up':
    case 'k':
      return 'up';
    case 'down':
    case 'j':
      return 'down';
    case 'return':
    case 'enter':
      return 'open';
    case 'escape':
    case 'backspace':
      return 'back';
    case 'g':
      return 'group';
    case 's':
      return 'capture';
    case 'p':
      return 'pause';
    case 'q':
      return 'quit';
  }
  return str === 'q' ? 'quit' : null;
}

export interface ScreenSize {
  width: number;
  height: number;
}

/** SIGHUP: the terminal is gone; exit as a shell's child would (128 + 1). */
const SIGHUP_STATUS = 129;

export class TtyScreen {
  private opened = false;
  private readonly restoreOnExit = (): void => this.close();
  private readonly onHangup = (): void => {
    this.close();
    process.exit(SIGHUP_STATUS);
  };
  private keyListener: ((str: string | undefined, key: KeypressInfo | undefined) => void) | null = null;
  private resizeListener: (() => void) | null = null;
  private endListener: (() => void) | null = null;
  /** What the terminal shows now, line by line. */
  private shown: string[] = [];

  constructor(
    private readonly out: WriteStream = process.stdout,
    private readonly inp: ReadStream = process.stdin as ReadStream,
  ) {}

  /** Interactive only when both ends are a terminal (a pipe on either side gets the one table). */
  static usable(out: WriteStream = process.stdout, inp: NodeJS.ReadStream = process.stdin): boolean {
    return out.isTTY === true && inp.isTTY === true;
  }

  size(): ScreenSize {
    // A pty that was never sized reports 0: draw for the classic terminal instead.
    return { width: this.out.columns || 80, height: this.out.rows || 24 };
  }

  open(onKey: (k: TopKey) => void, onResize: () => void): void {
    if (this.opened) return;
    this.opened = true;
    process.once('exit', this.restoreOnExit);
    process.once('SIGHUP', this.onHangup);
    emitKeypressEvents(this.inp);
    this.inp.setRawMode(true);
    this.keyListener = (str, key) => {
      const k = keyAction(str, key);
      if (k) onKey(k);
    };
    this.inp.on('keypress', this.keyListener);
    // The terminal's input closed without a SIGHUP (its master end went away): nothing can quit us later.
    this.endListener = () => onKey('quit');
    this.inp.once('end', this.endListener);
    this.inp.resume();
    // Node turns SIGWINCH into 'resize' on a TTY stdout (columns/rows are already updated).
    this.resizeListener = () => {
      this.invalidate();
      onResize();
    };
    this.out.on('resize', this.resizeListener);
    this.write(ansiEscapes.enterAlternativeScreen + ansiEscapes.cursorHide + ansiEscapes.clearViewport);
  }

  /**
   * Draws whole lines from the top left, writing only the lines that differ
   * from the last draw (as curses does): each refresh changes a few lines,
   * and every byte written to a terminal costs CPU in the kernel's tty layer
   * (docs/top.md, "Costs"). A resize draws everything again.
   */
  draw(lines: readonly string[]): void {
    let text = '';
    lines.forEach((l, i) => {
      if (this.shown[i] !== l) text += ansiEscapes.cursorTo(0, i) + l + ansiEscapes.eraseEndLine;
    });
    if (lines.length < this.shown.length) text += ansiEscapes.cursorTo(0, lines.length) + ansiEscapes.eraseDown;
    this.shown = [...lines];
    if (text) this.write(text);
  }

  /** The next draw writes every line (after a resize the terminal may have reflowed or cleared them). */
  invalidate(): void {
    this.shown = [];
    this.write(ansiEscapes.clearViewport);
  }

  /** Gives the terminal back (idempotent): cooked mode, cursor shown, the normal screen last. */
  close(): void {
    if (!this.opened) return;
    this.opened = false;
    process.removeListener('exit', this.restoreOnExit);
    process.removeListener('SIGHUP', this.onHangup);
    if (this.keyListener) this.inp.removeListener('keypress', this.keyListener);
    if (this.endListener) this.inp.removeListener('end', this.endListener);
    if (this.resizeListener) this.out.removeListener('resize', this.resizeListener);
    try {
      this.inp.setRawMode(false);
    } catch {
      /* the terminal is gone (SIGHUP): nothing to restore */
    }
    this.inp.pause();
    this.write(ansiEscapes.cursorShow + ansiEscapes.exitAlternativeScreen);
  }

  private write(text: string): void {
    try {
      this.out.write(text);
    } catch {
      /* EIO after a hang-up: the session is gone */
    }
  }
}
