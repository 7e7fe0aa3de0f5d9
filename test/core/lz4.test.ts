// LZ4 block and frame: round trips, interop with lz4-napi (native, lz4_flex), lz4-wasm-nodejs and the `lz4` CLI in
// both directions, and safety of decompression on hostile input (fast-check: random and mutated blocks).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xxh32 as nativeXxh32, xxh64 as nativeXxh64 } from '@node-rs/xxhash';
import fc from 'fast-check';
import * as lz4napi from 'lz4-napi';
import * as lz4wasm from 'lz4-wasm-nodejs';
import { describe, expect, it } from 'vitest';
import {
  lz4CompressBlock,
  lz4CompressBlockInto,
  lz4CompressBound,
  lz4DecompressBlock,
  lz4DecompressBlockInto,
} from '../../src/core/lz4-block.ts';
import { Lz4FrameDecoder, Lz4FrameEncoder, lz4FrameCompress, lz4FrameDecompress } from '../../src/core/lz4-frame.ts';
import { type CoreFlavor, loadCore } from '../../src/core/wasm-module.ts';
import {
  Lz4ChecksumError,
  Lz4FrameError,
  Lz4MalformedError,
  Lz4OutputTooSmallError,
  Lz4TruncatedError,
} from '../../src/errors.ts';
import { corpora, randomBytes, rng, same, skipWithoutTool, structuredBytes, textBytes } from './helpers.ts';

const flavors: CoreFlavor[] = ['simd', 'scalar'];

// lz4-napi and lz4-wasm use the block format with a 4-byte little-endian size prefix.
function withSize(block: Uint8Array, size: number): Buffer {
  const b = Buffer.alloc(4 + block.length);
  b.writeUInt32LE(size, 0);
  b.set(block, 4);
  return b;
}

// A frame of linked 64 KiB blocks built independently of our encoder: lz4-napi compresses each block with the
// previous 64 KiB as dictionary; header checksum from @node-rs/xxhash.
function linkedFrame(data: Uint8Array): Uint8Array {
  const parts: Buffer[] = [];
  const descriptor = Buffer.from([0x40, 0x40]); // version 01, linked, no checksums; 64 KiB blocks
  parts.push(Buffer.from([0x04, 0x22, 0x4d, 0x18]), descriptor, Buffer.from([(nativeXxh32(descriptor) >>> 8) & 0xff]));
  for (let at = 0; at < data.length; at += 65536) {
    const block = Buffer.from(data.subarray(at, at + 65536));
    const dict = Buffer.from(data.subarray(Math.max(0, at - 65536), at));
    const c = lz4napi.compressSync(block, dict).subarray(4);
    const size = Buffer.alloc(4);
    size.writeUInt32LE(c.length);
    parts.push(size, c);
  }
  parts.push(Buffer.alloc(4));
  return new Uint8Array(Buffer.concat(parts));
}

const lengths = [
  0, 1, 4, 12, 13, 14, 15, 16, 17, 19, 20, 31, 64, 100, 255, 256, 1000, 4096, 65535, 65536, 65537, 300_001,
];

describe.each(flavors)('LZ4 blocks (%s build)', (flavor) => {
  const core = loadCore(flavor);

  it('round-trips every corpus and length, and interoperates with lz4-napi and lz4-wasm', () => {
    for (const [name, make] of Object.entries(corpora)) {
      for (const n of [...lengths, 4 << 20]) {
        const data = make(n, n + 1);
        const block = lz4CompressBlock(data, undefined, core);
        expect(block.length).toBeLessThanOrEqual(lz4CompressBound(n));
        expect(same(lz4DecompressBlock(block, n, undefined, core), data), `${name} ${n}`).toBe(true);
        if (n <= 300_001) {
          expect(
            same(new Uint8Array(lz4napi.uncompressSync(withSize(block, n))), data),
            `napi decodes ours ${name} ${n}`,
          ).toBe(true);
          expect(same(lz4wasm.decompress(withSize(block, n)), data), `lz4-wasm decodes ours ${name} ${n}`).toBe(true);
          const theirs = lz4napi.compressSync(Buffer.from(data));
          const out = new Uint8Array(n);
          expect(lz4DecompressBlockInto(theirs.subarray(4), out, undefined, core)).toBe(n);
          expect(same(out, data), `ours decodes napi ${name} ${n}`).toBe(true);
        }
      }
    }
  });

  it('reaches a sensible ratio on compressible data', () => {
    const s = structuredBytes(1 << 20, 5);
    expect(lz4CompressBlock(s, undefined, core).length).toBeLessThan(s.length / 4);
    expect(lz4CompressBlock(new Uint8Array(1 << 20), undefined, core).length).toBeLessThan(5000);
    expect(lz4CompressBlock(textBytes(1 << 20, 5), undefined, core).length).toBeLessThan((1 << 20) / 2);
  });

  it('reports 0 when the output buffer is too small to compress into', () => {
    const data = randomBytes(10_000, 3);
    expect(lz4CompressBlockInto(data, new Uint8Array(5000), undefined, core)).toBe(0);
    const dst = new Uint8Array(lz4CompressBound(data.length));
    const n = lz4CompressBlockInto(data, dst, undefined, core);
    expect(same(lz4DecompressBlock(dst.subarray(0, n), data.length, undefined, core), data)).toBe(true);
  });

  it('decodes with a dictionary (linked blocks)', () => {
    const text = textBytes(200_000, 8);
    const dict = text.subarray(0, 100_000);
    const next = text.subarray(100_000);
    const theirs = lz4napi.compressSync(Buffer.from(next), Buffer.from(dict.subarray(dict.length - 65536)));
    expect(same(lz4DecompressBlock(theirs.subarray(4), next.length, { dict }, core), next)).toBe(true);
    expect(() => lz4DecompressBlock(theirs.subarray(4), next.length, undefined, core)).toThrow(Lz4MalformedError);
  });

  it('decodes overlapping matches of every short period, near and far from the output end', () => {
    for (let period = 1; period <= 20; period++) {
      for (const ml of [4, 15, 16, 17, 19, 300, 5000]) {
        const lits = randomBytes(period, period);
        // [token: period literals, ml-4 match][literals][offset = period][length bytes][final 5 literals]
        const parts: number[] = [(Math.min(period, 15) << 4) | Math.min(ml - 4, 15)];
        if (period >= 15) parts.push(period - 15);
        parts.push(...lits, period & 0xff, period >> 8);
        if (ml - 4 >= 15) {
          let rest = ml - 4 - 15;
          while (rest >= 255) {
            parts.push(255);
            rest -= 255;
          }
          parts.push(rest);
        }
        parts.push(0x50, 1, 2, 3, 4, 5);
        const expected = new Uint8Array(period + ml + 5);
        for (let i = 0; i < period + ml; i++) expected[i] = lits[i % period]!;
        expected.set([1, 2, 3, 4, 5], period + ml);
        for (const slack of [0, 7, 64]) {
          const out = new Uint8Array(expected.length + slack);
          expect(lz4DecompressBlockInto(new Uint8Array(parts), out, undefined, core)).toBe(expected.length);
          expect(same(out.subarray(0, expected.length), expected), `period ${period} ml ${ml} slack ${slack}`).toBe(
            true,
          );
        }
      }
    }
  });

  it('rejects malformed blocks with typed errors', () => {
    const out = new Uint8Array(100);
    expect(() => lz4DecompressBlockInto(new Uint8Array([]), out, undefined, core)).toThrow(Lz4MalformedError);
    expect(() => lz4DecompressBlockInto(new Uint8Array([0xf0]), out, undefined, core)).toThrow(Lz4MalformedError);
    expect(() => lz4DecompressBlockInto(new Uint8Array([0x30, 1, 2]), out, undefined, core)).toThrow(Lz4MalformedError);
    // literal then a match with offset 0, and one reaching before the start
    expect(() => lz4DecompressBlockInto(new Uint8Array([0x10, 65, 0, 0, 0]), out, undefined, core)).toThrow(
      Lz4MalformedError,
    );
    expect(() => lz4DecompressBlockInto(new Uint8Array([0x10, 65, 2, 0, 0]), out, undefined, core)).toThrow(
      Lz4MalformedError,
    );
    const block = lz4CompressBlock(new Uint8Array(1000), undefined, core);
    expect(() => lz4DecompressBlockInto(block, new Uint8Array(999), undefined, core)).toThrow(Lz4OutputTooSmallError);
  });

  // Raw decode into OUT with a capacity below the arena size: bytes past the capacity are a guard region that must
  // never change, whatever the input.
  function decodeGuarded(block: Uint8Array, cap: number): number {
    const ex = core.exports;
    const mem = core.memory();
    const guard = core.outPtr + cap;
    mem.fill(0xa5, guard, guard + 4096);
    core.input().set(block);
    const r = ex.lz4Decompress(core.inPtr, block.length, core.outPtr, cap, 0);
    for (let i = guard; i < guard + 4096; i++)
      if (mem[i] !== 0xa5) throw new Error(`wrote past the output at +${i - guard}`);
    expect(r).toBeLessThanOrEqual(cap);
    expect(r >= 0 || r === -1 || r === -2 || r === -3).toBe(true);
    return r;
  }

  it('never writes outside its output on random input (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 3000 }), (bytes, cap) => {
        decodeGuarded(bytes, cap);
      }),
      { seed: 1234, numRuns: 2000 },
    );
  });

  it('never writes outside its output on mutated valid blocks, and round-trips arbitrary input (property)', () => {
    const base = structuredBytes(20_000, 11);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: base.length }),
        fc.integer({ min: 0, max: base.length }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (a, b, edits) => {
          const data = base.subarray(Math.min(a, b), Math.max(a, b));
          const block = lz4CompressBlock(data, undefined, core);
          expect(decodeGuarded(block, data.length)).toBe(data.length);
          expect(same(core.output().subarray(0, data.length), data)).toBe(true);
          const bad = block.slice();
          for (const [at, v] of edits) bad[at % bad.length] = v;
          decodeGuarded(bad, data.length);
          decodeGuarded(bad.subarray(0, bad.length >> 1), data.length);
        },
      ),
      { seed: 4321, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect(
          same(lz4DecompressBlock(lz4CompressBlock(data, undefined, core), data.length, undefined, core), data),
        ).toBe(true);
      }),
      { seed: 99, numRuns: 500 },
    );
  });
});

describe.each(flavors)('LZ4 block encoder near the end of input (%s build)', (flavor) => {
  const core = loadCore(flavor);

  // Regression: a match whose mismatch was found by the 8-byte compare within 8 bytes of the match limit went on
  // into the byte-wise tail with `ref` left behind, extending the match over bytes that did not match.
  it('round-trips low-entropy data whose matches end in the last 16 bytes, at every length', () => {
    const r = rng(2024);
    const alphabet = (k: number, n: number) => Uint8Array.from({ length: n }, () => 0x41 + Math.floor(r() * k));
    for (const k of [2, 3, 4, 7]) {
      const src = alphabet(k, 6000);
      for (let n = 13; n <= 1200; n++) {
        const data = src.subarray(n, n + n);
        const back = lz4DecompressBlock(lz4CompressBlock(data, undefined, core), data.length, undefined, core);
        if (!same(back, data)) expect.fail(`alphabet ${k}, length ${n}: round trip differs`);
      }
    }
  });

  it('round-trips arbitrary low-entropy input (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 13, maxLength: 4000, size: 'max' }),
        (values) => {
          const data = Uint8Array.from(values);
          const back = lz4DecompressBlock(lz4CompressBlock(data, undefined, core), data.length, undefined, core);
          expect(same(back, data)).toBe(true);
        },
      ),
      { seed: 7, numRuns: 400 },
    );
  });
});

describe.each(flavors)('LZ4 frames (%s build)', (flavor) => {
  const core = loadCore(flavor);

  it('round-trips with every option and interoperates with lz4-napi frames', () => {
    const data = structuredBytes((5 << 20) + 1234, 21);
    for (const blockSize of [65536, 262144, 1048576, 4194304] as const) {
      for (const [contentChecksum, blockChecksum] of [
        [true, false],
        [false, true],
      ] as const) {
        const frame = lz4FrameCompress(
          data,
          { blockSize, contentChecksum, blockChecksum, contentSize: data.length },
          core,
        );
        expect(same(lz4FrameDecompress(frame, {}, core), data)).toBe(true);
        expect(same(new Uint8Array(lz4napi.decompressFrameSync(Buffer.from(frame))), data)).toBe(true);
      }
    }
    // incompressible data is stored in raw blocks (high bit of the block size)
    const rnd = randomBytes(700_000, 9);
    const rawFrame = lz4FrameCompress(rnd, { blockSize: 65536, blockChecksum: true }, core);
    expect(rawFrame.length).toBeGreaterThan(rnd.length);
    expect(same(lz4FrameDecompress(rawFrame, {}, core), rnd)).toBe(true);
    expect(same(new Uint8Array(lz4napi.decompressFrameSync(Buffer.from(rawFrame))), rnd)).toBe(true);
    const theirs = lz4napi.compressFrameSync(Buffer.from(data));
    expect(same(lz4FrameDecompress(theirs, {}, core), data)).toBe(true);
    expect(
      same(lz4FrameDecompress(lz4FrameCompress(new Uint8Array(0), undefined, core), {}, core), new Uint8Array(0)),
    ).toBe(true);
  });

  it('decodes in arbitrary pieces, and two interleaved linked-block decoders keep their own windows', () => {
    const a = textBytes(700_000, 1);
    const b = textBytes(700_000, 2);
    const fa = linkedFrame(a);
    const fb = linkedFrame(b);
    expect(fa[4]! & 0x20).toBe(0); // linked
    const da = new Lz4FrameDecoder(core);
    const db = new Lz4FrameDecoder(core);
    const oa: Uint8Array[] = [];
    const ob: Uint8Array[] = [];
    const r = rng(5);
    let pa = 0;
    let pb = 0;
    while (pa < fa.length || pb < fb.length) {
      const na = Math.min(fa.length - pa, 1 + Math.floor(r() * 30000));
      da.write(fa.subarray(pa, pa + na), (x) => oa.push(x.slice()));
      pa += na;
      const nb = Math.min(fb.length - pb, 1 + Math.floor(r() * 30000));
      db.write(fb.subarray(pb, pb + nb), (x) => ob.push(x.slice()));
      pb += nb;
    }
    da.end();
    db.end();
    expect(same(Buffer.concat(oa), Buffer.from(a))).toBe(true);
    expect(same(Buffer.concat(ob), Buffer.from(b))).toBe(true);
  });

  it('a frame whose content is one block hands out its XXH64 and checks its content checksum in the same pass', () => {
    const data = textBytes(900_000, 6);
    const decode = (frame: Uint8Array) => {
      const d = new Lz4FrameDecoder(core, { contentXxh64: true });
      const parts: Uint8Array[] = [];
      d.write(frame, (x) => parts.push(x.slice()));
      d.end();
      return { d, out: Buffer.concat(parts) };
    };
    for (const contentChecksum of [true, false]) {
      const one = lz4FrameCompress(data, { blockSize: 1048576, contentChecksum, contentSize: data.length }, core);
      const { d, out } = decode(one);
      expect(same(out, Buffer.from(data))).toBe(true);
      expect(d.contentXxh64).toBe(nativeXxh64(data));
      // several blocks (or no declared size): no XXH64 handed out, the content checksum streamed as before
      const many = lz4FrameCompress(data, { blockSize: 65536, contentChecksum, contentSize: data.length }, core);
      expect(decode(many).d.contentXxh64).toBeUndefined();
      expect(
        decode(lz4FrameCompress(data, { blockSize: 1048576, contentChecksum }, core)).d.contentXxh64,
      ).toBeUndefined();
    }
    const damaged = lz4FrameCompress(
      data,
      { blockSize: 1048576, contentChecksum: true, contentSize: data.length },
      core,
    );
    damaged[damaged.length - 2] = damaged[damaged.length - 2]! ^ 0x10;
    expect(() => decode(damaged)).toThrow(Lz4ChecksumError);
  });

  it('streams encode output in pieces identical to one-shot', () => {
    const data = textBytes(3_000_000, 4);
    const parts: Uint8Array[] = [];
    const enc = new Lz4FrameEncoder({ blockSize: 1048576 }, core);
    for (let at = 0; at < data.length; at += 77_777)
      enc.write(data.subarray(at, at + 77_777), (x) => parts.push(x.slice()));
    enc.end((x) => parts.push(x.slice()));
    expect(same(new Uint8Array(Buffer.concat(parts)), lz4FrameCompress(data, { blockSize: 1048576 }, core))).toBe(true);
  });

  it('rejects bad frames with typed errors', () => {
    const frame = lz4FrameCompress(textBytes(100_000, 3), { blockChecksum: true }, core);
    expect(() => lz4FrameDecompress(new Uint8Array([1, 2, 3, 4, 5]), {}, core)).toThrow(Lz4FrameError);
    expect(() => lz4FrameDecompress(frame.subarray(0, frame.length - 3), {}, core)).toThrow(Lz4TruncatedError);
    const badHeader = frame.slice();
    badHeader[6] = badHeader[6]! ^ 1;
    expect(() => lz4FrameDecompress(badHeader, {}, core)).toThrow(Lz4ChecksumError);
    const badBlock = frame.slice();
    badBlock[40] = badBlock[40]! ^ 1;
    expect(() => lz4FrameDecompress(badBlock, {}, core)).toThrow(Lz4ChecksumError);
    const badContent = frame.slice();
    badContent[badContent.length - 1] = badContent[badContent.length - 1]! ^ 1;
    expect(() => lz4FrameDecompress(badContent, {}, core)).toThrow(Lz4ChecksumError);
  });

  it('caps the one-shot decompressor: 4 MB of frames that hold 1 GiB are refused by default, taken when allowed', () => {
    const frame = lz4FrameCompress(new Uint8Array(16 << 20), { blockSize: 4194304 }, core);
    const bomb = new Uint8Array(Buffer.concat(Array.from({ length: 64 }, () => frame)));
    expect(bomb.length).toBeLessThan(5 << 20);
    const rss = process.memoryUsage().rss;
    expect(() => lz4FrameDecompress(bomb, {}, core)).toThrow(Lz4OutputTooSmallError);
    // it stopped at the cap (64 MiB, grown by doubling), far from the content's 1 GiB
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 << 20);
    expect(() => lz4FrameDecompress(frame, { maxOutputBytes: 1 << 20 }, core)).toThrow(/output cap of 1048576/);
    expect(lz4FrameDecompress(bomb.subarray(0, frame.length * 6), { maxOutputBytes: 96 << 20 }, core).length).toBe(
      96 << 20,
    );
  });
});

describe.skipIf(skipWithoutTool('lz4'))('lz4 CLI agreement', () => {
  const data = structuredBytes((9 << 20) + 333, 77);
  const text = textBytes(3 << 20, 78);

  it('lz4 -d decodes our frames', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-lz4-'));
    try {
      for (const opts of [{}, { blockSize: 65536, blockChecksum: true, contentSize: data.length }] as const) {
        writeFileSync(join(dir, 'a.lz4'), lz4FrameCompress(data, opts));
        execFileSync('lz4', ['-d', '-f', '-q', join(dir, 'a.lz4'), join(dir, 'a')]);
        expect(same(new Uint8Array(readFileSync(join(dir, 'a'))), data)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes what lz4 writes, with every option', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vfm-lz4-'));
    try {
      const variants = [
        [],
        ['-1'],
        ['-9'],
        ['-BD'],
        ['-BD', '-B4'],
        ['--content-size'],
        ['-BX'],
        ['-B4'],
        ['-B5'],
        ['-B6'],
        ['-B7'],
        ['--no-frame-crc'],
        ['-BD', '-BX', '-9', '-B5'],
      ];
      for (const input of [data, text]) {
        writeFileSync(join(dir, 'in'), input);
        for (const v of variants) {
          execFileSync('lz4', ['-f', '-q', ...v, join(dir, 'in'), join(dir, 'in.lz4')]);
          const frame = new Uint8Array(readFileSync(join(dir, 'in.lz4')));
          expect(same(lz4FrameDecompress(frame), input), `lz4 ${v.join(' ')}`).toBe(true);
        }
      }
      // two frames concatenated, separated by a skippable frame
      const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
      const one = new Uint8Array(readFileSync(join(dir, 'in.lz4')));
      expect(
        same(
          lz4FrameDecompress(new Uint8Array(Buffer.concat([one, skippable, one]))),
          new Uint8Array(Buffer.concat([text, text])),
        ),
      ).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
