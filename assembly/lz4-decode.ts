// Safe LZ4 block decompression. Every read is checked against the input end, every write against the output
// end, every match offset against the start of the window (output start minus the dictionary length); each
// step consumes input, so any input terminates. Fast paths copy in 16-byte (or 8-byte) steps only where the
// slack to the buffer ends has been checked.
export const LZ4_ERR_INPUT: i32 = -1; // truncated or malformed input
export const LZ4_ERR_OUTPUT: i32 = -2; // output does not fit in the given capacity
export const LZ4_ERR_OFFSET: i32 = -3; // match offset 0 or before the window

function copy16(d: usize, s: usize): void {
  if (ASC_FEATURE_SIMD) {
    v128.store(d, v128.load(s));
  } else {
    store<u64>(d, load<u64>(s));
    store<u64>(d, load<u64>(s, 8), 8);
  }
}

/**
 * Decodes the block [src, src+len) to dst (capacity cap). The dictLen bytes immediately before dst are the
 * window of earlier output that matches may reference (linked blocks). Returns the decoded size or a negative
 * LZ4_ERR_* code.
 */
export function lz4Decompress(src: usize, len: usize, dst: usize, cap: usize, dictLen: usize): i32 {
  let ip = src;
  const iend = src + len;
  let op = dst;
  const oend = dst + cap;
  const lowest = dst - dictLen;
  if (len === 0) return LZ4_ERR_INPUT;
  while (true) {
    if (ip >= iend) return LZ4_ERR_INPUT;
    const token = <usize>load<u8>(ip++);
    let lit = token >> 4;
    // Short literal run with room on both sides: one 16-byte copy, no length loop.
    if (lit < 15 && ip + 16 <= iend && op + 16 <= oend) {
      copy16(op, ip);
    } else {
      if (lit === 15) {
        let b: usize;
        do {
          if (ip >= iend) return LZ4_ERR_INPUT;
          b = <usize>load<u8>(ip++);
          lit += b;
        } while (b === 255);
      }
      if (lit > iend - ip) return LZ4_ERR_INPUT;
      if (lit > oend - op) return LZ4_ERR_OUTPUT;
      if (lit <= 16 && ip + 16 <= iend && op + 16 <= oend) copy16(op, ip);
      else memory.copy(op, ip, lit);
    }
    ip += lit;
    op += lit;
    // The last sequence is literals only.
    if (ip === iend) return <i32>(op - dst);
    if (iend - ip < 2) return LZ4_ERR_INPUT;
    const offset = <usize>load<u16>(ip);
    ip += 2;
    let ml = token & 15;
    if (ml === 15) {
      let b: usize;
      do {
        if (ip >= iend) return LZ4_ERR_INPUT;
        b = <usize>load<u8>(ip++);
        ml += b;
      } while (b === 255);
    }
    ml += 4;
    if (offset === 0 || offset > op - lowest) return LZ4_ERR_OFFSET;
    if (ml > oend - op) return LZ4_ERR_OUTPUT;
    let ref = op - offset;
    const mend = op + ml;
    if (offset >= 16 && mend + 16 <= oend) {
      // Non-overlapping 16-byte steps; may write up to 15 bytes past mend, within the checked slack.
      do {
        copy16(op, ref);
        op += 16;
        ref += 16;
      } while (op < mend);
    } else if (offset === 1) {
      memory.fill(op, load<u8>(ref), ml);
    } else if (mend + 16 <= oend) {
      // Overlapping match: the output repeats with period `offset`. Write the first 16 bytes one by one, then copy
      // 16 bytes at a time from `dist` back, a multiple of the period >= 16, so source and destination never overlap.
      const dist = offset * ((15 + offset) / offset);
      const head = min<usize>(op + 16, mend);
      while (op < head) {
        store<u8>(op, load<u8>(ref));
        op++;
        ref++;
      }
      while (op < mend) {
        copy16(op, op - dist);
        op += 16;
      }
    } else {
      while (op < mend) {
        store<u8>(op, load<u8>(ref));
        op++;
        ref++;
      }
    }
    op = mend;
  }
}

/**
 * Keeps the last WINDOW bytes of (window ++ the `produced` bytes just written at out) in the window region that
 * precedes out, so the next linked block can reference them. Returns the new dictionary length.
 */
export function lz4SlideWindow(out: usize, produced: usize, dictLen: usize, windowSize: usize): usize {
  const total = dictLen + produced;
  const keep = total < windowSize ? total : windowSize;
  memory.copy(out - keep, out + produced - keep, keep);
  return keep;
}
