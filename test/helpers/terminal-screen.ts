// A small model of a terminal screen, enough to replay what the CLI writes to a pseudo-terminal and see what a
// person would see: printable text with automatic wrap at the last column (xterm's deferred wrap), carriage return,
// line feed, and the cursor controls the progress bar uses (erase line, cursor up, erase to end of screen).
export class TerminalScreen {
  readonly columns: number;
  readonly #rows: string[][] = [[]];
  #row = 0;
  #col = 0;
  /** The cursor sits past the last column: the next printable character wraps first. */
  #pendingWrap = false;

  constructor(columns: number) {
    this.columns = columns;
  }

  write(text: string): this {
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (ch === '\x1b' && text[i + 1] === '[') {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: a control sequence is what is parsed here
        const m = /^\x1b\[(\??[0-9;]*)([A-Za-z])/.exec(text.slice(i));
        if (m) {
          this.#control(m[1]!, m[2]!);
          i += m[0].length - 1;
          continue;
        }
      }
      if (ch === '\r') {
        this.#col = 0;
        this.#pendingWrap = false;
      } else if (ch === '\n') {
        this.#down();
        this.#pendingWrap = false;
      } else if (ch >= ' ') {
        if (this.#pendingWrap) {
          this.#down();
          this.#col = 0;
          this.#pendingWrap = false;
        }
        this.#line()[this.#col] = ch;
        if (this.#col === this.columns - 1) this.#pendingWrap = true;
        else this.#col++;
      }
    }
    return this;
  }

  /** The screen's lines, trailing blanks trimmed, empty lines at the end dropped. */
  lines(): string[] {
    const lines = this.#rows.map((r) =>
      Array.from({ length: r.length }, (_, i) => r[i] ?? ' ')
        .join('')
        .trimEnd(),
    );
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  #line(): string[] {
    while (this.#rows.length <= this.#row) this.#rows.push([]);
    return this.#rows[this.#row]!;
  }

  #down(): void {
    this.#row++;
    this.#line();
  }

  #control(params: string, final: string): void {
    const n = Number(params) || 1;
    if (final === 'K') {
      // 2K: the whole line; 0K (or K): from the cursor to its end
      const line = this.#line();
      if (params === '2') line.length = 0;
      else line.length = Math.min(line.length, this.#col);
    } else if (final === 'A') {
      this.#row = Math.max(0, this.#row - n);
      this.#pendingWrap = false;
    } else if (final === 'J') {
      this.#line().length = Math.min(this.#line().length, this.#col);
      this.#rows.length = this.#row + 1;
    }
    // anything else (modes, colours) does not move text
  }
}
