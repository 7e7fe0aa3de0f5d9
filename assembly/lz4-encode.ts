// LZ4 block compression (the fast, single-probe greedy parser of `lz4 -1`), producing the reference block
// format: sequences of [token][literal length+][literals][offset u16][match length+], the last 5 bytes always
// literals and no match starting within the last 12 bytes.
import { TABLE_PTR } from './arenas';

const MIN_MATCH: usize = 4;
const LAST_LITERALS: usize = 5;
const MF_LIMIT: usize = 12;
const MAX_DISTANCE: usize = 65535;
const HASH_LOG: u32 = 12;
const SKIP_TRIGGER: u32 = 6;

/** Worst-case compressed size of n bytes (incompressible input plus length bytes). */
export function lz4Bound(n: usize): usize {
  return n + n / 255 + 16;
}

// Hash of the 5 low bytes at p (Knuth-style multiplicative hash, as the reference uses on 64-bit targets).
function hash5(p: usize): usize {
  return <usize>(((load<u64>(p) << 24) * 889523592379) >> (64 - HASH_LOG));
}

function writeLength(op: usize, n: usize): usize {
  while (n >= 255) {
    store<u8>(op, 255);
    op++;
    n -= 255;
  }
  store<u8>(op, <u8>n);
  return op + 1;
}

// Copies short runs with two 8-byte moves when there is slack on both sides, memory.copy otherwise.
function copyLiterals(op: usize, ip: usize, n: usize, oend: usize, iend: usize): void {
  if (n <= 16 && op + 16 <= oend && ip + 16 <= iend) {
    store<u64>(op, load<u64>(ip));
    store<u64>(op, load<u64>(ip, 8), 8);
  } else {
    memory.copy(op, ip, n);
  }
}

/**
 * Compresses [src, src+len) into dst (capacity cap); returns the compressed size, or 0 when it does not fit
 * (never when cap >= lz4Bound(len)). acceleration >= 1 trades ratio for speed as in the reference.
 */
export function lz4Compress(src: usize, len: usize, dst: usize, cap: usize, acceleration: u32): usize {
  const table = TABLE_PTR;
  const iend = src + len;
  const oend = dst + cap;
  let op = dst;
  let anchor = src;
  if (acceleration < 1) acceleration = 1;
  if (len >= MF_LIMIT + 1) {
    memory.fill(table, 0, ((<usize>1) << HASH_LOG) << 2);
    const mflimitPlusOne = iend - MF_LIMIT + 1;
    const matchLimit = iend - LAST_LITERALS;
    let ip = src;
    store<u32>(table + (hash5(ip) << 2), 0);
    ip++;
    let done = false;
    while (!done) {
      // Find a match: probe one position per step, the step growing the longer nothing matches.
      let ref: usize = 0;
      let forward = ip;
      let searchNb = acceleration << SKIP_TRIGGER;
      let found = false;
      while (true) {
        ip = forward;
        forward += <usize>(searchNb >> SKIP_TRIGGER);
        searchNb++;
        if (forward > mflimitPlusOne) break;
        const slot = table + (hash5(ip) << 2);
        ref = src + <usize>load<u32>(slot);
        store<u32>(slot, <u32>(ip - src));
        if (ip - ref <= MAX_DISTANCE && load<u32>(ref) === load<u32>(ip)) {
          found = true;
          break;
        }
      }
      if (!found) break;
      // Extend backwards into the pending literals.
      while (ip > anchor && ref > src && load<u8>(ip - 1) === load<u8>(ref - 1)) {
        ip--;
        ref--;
      }
      const litLen = ip - anchor;
      if (op + litLen + (2 + 1 + LAST_LITERALS) + litLen / 255 > oend) return 0;
      let token = op++;
      if (litLen >= 15) {
        store<u8>(token, 15 << 4);
        op = writeLength(op, litLen - 15);
      } else {
        store<u8>(token, <u8>(litLen << 4));
      }
      copyLiterals(op, anchor, litLen, oend, iend);
      op += litLen;
      // Emit the match, then try the position right after it before going back to searching.
      while (true) {
        store<u16>(op, <u16>(ip - ref));
        op += 2;
        const start = ip;
        ip += MIN_MATCH;
        ref += MIN_MATCH;
        // Eight bytes at a time; the first differing byte ends the match. Only when no difference was found
        // before the tail do single bytes finish it (ref moves with ip only on the equal paths).
        let mismatch = false;
        while (ip + 8 <= matchLimit) {
          const diff = load<u64>(ref) ^ load<u64>(ip);
          if (diff !== 0) {
            ip += <usize>(ctz<u64>(diff) >> 3);
            mismatch = true;
            break;
          }
          ip += 8;
          ref += 8;
        }
        if (!mismatch) {
          while (ip < matchLimit && load<u8>(ref) === load<u8>(ip)) {
            ip++;
            ref++;
          }
        }
        const ml = ip - start - MIN_MATCH;
        if (op + 1 + LAST_LITERALS + ml / 255 > oend) return 0;
        if (ml >= 15) {
          store<u8>(token, load<u8>(token) | 15);
          op = writeLength(op, ml - 15);
        } else {
          store<u8>(token, load<u8>(token) | <u8>ml);
        }
        anchor = ip;
        if (ip >= mflimitPlusOne) {
          done = true;
          break;
        }
        store<u32>(table + (hash5(ip - 2) << 2), <u32>(ip - 2 - src));
        const slot = table + (hash5(ip) << 2);
        ref = src + <usize>load<u32>(slot);
        store<u32>(slot, <u32>(ip - src));
        if (ip - ref <= MAX_DISTANCE && load<u32>(ref) === load<u32>(ip)) {
          // immediate repeat: a sequence with no literals
          if (op + (2 + 1 + LAST_LITERALS) > oend) return 0;
          token = op++;
          store<u8>(token, 0);
          continue;
        }
        ip++;
        break;
      }
    }
  }
  // Last literals.
  const last = iend - anchor;
  if (op + last + 1 + (last + 255 - 15) / 255 > oend) return 0;
  if (last >= 15) {
    store<u8>(op++, 15 << 4);
    op = writeLength(op, last - 15);
  } else {
    store<u8>(op++, <u8>(last << 4));
  }
  memory.copy(op, anchor, last);
  return op + last - dst;
}
