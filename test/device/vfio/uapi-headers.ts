// The kernel's uAPI headers as the tests compare them: where to find them, which kernel each comes from, and the
// value of every `#define` and enum member they hold (evaluated, not pattern-matched, so `_IO(VFIO_TYPE, VFIO_BASE +
// 17)`, `(1 << 16)` and enums with implicit values all read as the numbers a C compiler would give).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

export interface UapiHeaderSet {
  /** Where it came from, for test names: `/usr/include (linux-libc-dev 6.1)`. */
  label: string;
  /** The kernel release the headers belong to, `[major, minor]`. */
  version: [number, number];
  /** Every constant defined in vfio.h and iommufd.h (iommufd.h may be absent: it arrived in 6.2). */
  constants: Map<string, number>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** `6.2` < `6.12`. */
export function versionBefore(a: [number, number], b: [number, number]): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
}

export function formatVersion(v: [number, number]): string {
  return `${v[0]}.${v[1]}`;
}

/** An include directory with linux/vfio.h, with the kernel version it belongs to. */
function loadSet(includeDir: string, label: string, version: [number, number]): UapiHeaderSet | null {
  const vfio = path.join(includeDir, 'linux/vfio.h');
  if (!existsSync(vfio)) return null;
  const constants = new Map<string, number>();
  for (const file of ['linux/vfio.h', 'linux/iommufd.h']) {
    const p = path.join(includeDir, file);
    if (existsSync(p)) parseUapiConstants(readFileSync(p, 'utf8'), constants);
  }
  return { label: `${label} ${formatVersion(version)}`, version, constants };
}

function systemVersion(includeDir: string): [number, number] | null {
  const p = path.join(includeDir, 'linux/version.h');
  if (!existsSync(p)) return null;
  const text = readFileSync(p, 'utf8');
  const major = /LINUX_VERSION_MAJOR\s+(\d+)/.exec(text)?.[1];
  const minor = /LINUX_VERSION_PATCHLEVEL\s+(\d+)/.exec(text)?.[1];
  if (major && minor) return [Number(major), Number(minor)];
  const code = Number(/LINUX_VERSION_CODE\s+(\d+)/.exec(text)?.[1]);
  return Number.isFinite(code) ? [code >> 16, (code >> 8) & 0xff] : null;
}

/**
 * The header sets on this machine: the system's (linux-libc-dev, /usr/include) and any kernel source headers
 * unpacked under build/uapi-MAJOR.MINOR/ (.ci/run puts linux-source-6.12's there), plus VFIO_UAPI_INCLUDE=DIR:M.N.
 */
export function findUapiHeaders(): UapiHeaderSet[] {
  const sets: UapiHeaderSet[] = [];
  const system = '/usr/include';
  const sv = systemVersion(system);
  if (sv) {
    const s = loadSet(system, 'linux-libc-dev (/usr/include)', sv);
    if (s) sets.push(s);
  }
  const build = path.join(ROOT, 'build');
  if (existsSync(build)) {
    for (const name of readdirSync(build).sort()) {
      const m = /^uapi-(\d+)\.(\d+)$/.exec(name);
      if (!m) continue;
      const s = loadSet(path.join(build, name), `kernel source (build/${name})`, [Number(m[1]), Number(m[2])]);
      if (s) sets.push(s);
    }
  }
  const extra = process.env.VFIO_UAPI_INCLUDE;
  if (extra) {
    const [dir = '', ver = ''] = extra.split(':');
    const m = /^(\d+)\.(\d+)$/.exec(ver);
    if (!m) throw new Error(`VFIO_UAPI_INCLUDE must be DIR:MAJOR.MINOR, not ${extra}`);
    const s = loadSet(dir, `VFIO_UAPI_INCLUDE (${dir})`, [Number(m[1]), Number(m[2])]);
    if (s) sets.push(s);
  }
  return sets;
}

/** Evaluates a constant C expression over integers and names already known; null when it is not one. */
function evaluate(expr: string, known: Map<string, number>): number | null {
  let e = expr.replace(/\/\*.*?\*\//g, '').trim();
  if (e === '') return null;
  e = e.replace(/'(.)'/g, (_, c: string) => String(c.charCodeAt(0)));
  // _IO(type, nr) of asm-generic/ioctl.h: no direction or size bits
  for (let i = 0; i < 4 && /_IO\(/.test(e); i++) e = e.replace(/_IO\(([^(),]+),([^()]+)\)/g, '((($1) << 8) | ($2))');
  e = e.replace(/\b([A-Za-z_]\w*)\b/g, (name) => {
    const v = known.get(name);
    return v === undefined ? `@${name}` : `(${v})`;
  });
  e = e.replace(/\b(0x[0-9a-f]+|\d+)[uUlL]+\b/gi, '$1');
  if (e.includes('@') || !/^[\s0-9a-fx()<>|&+\-~*]*$/i.test(e)) return null;
  try {
    const v = Function(`"use strict"; return (${e});`)() as unknown;
    return typeof v === 'number' && Number.isInteger(v) ? v >>> 0 : null;
  } catch {
    return null;
  }
}

/** Adds every object-like `#define NAME EXPR` and `enum { NAME [= EXPR], ... }` member of `text` to `into`. */
export function parseUapiConstants(text: string, into: Map<string, number>): void {
  const src = text.replace(/\\\n/g, ' ');
  type Item = { name: string; expr: string } | { enumBody: string };
  const items: { at: number; item: Item }[] = [];
  for (const m of src.matchAll(/^[ \t]*#define[ \t]+([A-Za-z_]\w*)(?!\()[ \t]+(.+)$/gm)) {
    items.push({ at: m.index, item: { name: m[1]!, expr: m[2]! } });
  }
  for (const m of src.matchAll(/\benum\b[^{;]*\{([^}]*)\}/g)) items.push({ at: m.index, item: { enumBody: m[1]! } });
  items.sort((a, b) => a.at - b.at);
  for (const { item } of items) {
    if ('name' in item) {
      const v = evaluate(item.expr, into);
      if (v !== null && !into.has(item.name)) into.set(item.name, v);
      continue;
    }
    let next = 0;
    const body = item.enumBody.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    for (const raw of body.split(',')) {
      const member = raw.trim();
      if (!member) continue;
      const eq = member.indexOf('=');
      const name = (eq < 0 ? member : member.slice(0, eq)).trim();
      if (!/^[A-Za-z_]\w*$/.test(name)) continue;
      const value = eq < 0 ? next : evaluate(member.slice(eq + 1), into);
      if (value === null) break; // an expression we cannot follow: the members after it are unknown too
      into.set(name, value);
      next = value + 1;
    }
  }
}
