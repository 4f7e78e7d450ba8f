/**
 * The pickle opcodes that push one plain value read from the stream: None, booleans, ints, floats,
 * strings and bytes. Each reader consumes its argument and returns the value to push.
 */
import type { PickleReader } from './pickle-reader.ts';
import { decodeLegacyString, decodeUtf8, parseRawUnicodeEscape, parseStringLiteral } from './pickle-text.ts';
import type { PyValue } from './pickle-values.ts';

type ScalarReader = (r: PickleReader) => PyValue;

const utf8Of = (r: PickleReader, n: number): string => decodeUtf8(r.take(n), () => r.fail('string is not valid UTF-8'));

function readFloatLiteral(r: PickleReader): number {
  const s = r.line().trim().toLowerCase();
  if (/^[+-]?nan$/.test(s)) return NaN;
  if (/^[+-]?inf(inity)?$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) r.fail(`bad float literal "${s.slice(0, 40)}"`);
  return v;
}

function readIntLiteral(r: PickleReader): PyValue {
  const s = r.line();
  if (s === '00') return false;
  if (s === '01') return true;
  return r.parseIntText(s);
}

function nonNegativeLength(r: PickleReader): number {
  const n = r.i32();
  if (n < 0) r.fail('negative length');
  return n;
}

/** Readers by opcode byte. */
export const SCALAR_OPCODES: Readonly<Record<number, ScalarReader>> = {
  0x4e: () => null, // NONE
  0x88: () => true, // NEWTRUE
  0x89: () => false, // NEWFALSE
  0x4a: (r) => r.i32(), // BININT
  0x4b: (r) => r.u8(), // BININT1
  0x4d: (r) => r.u16(), // BININT2
  0x8a: (r) => r.longBytes(r.u8()), // LONG1
  0x8b: (r) => r.longBytes(nonNegativeLength(r)), // LONG4
  0x49: readIntLiteral, // INT
  0x4c: (r) => { // LONG
    const s = r.line();
    return r.parseIntText(s.endsWith('L') ? s.slice(0, -1) : s);
  },
  0x46: readFloatLiteral, // FLOAT
  0x47: (r) => r.f64be(), // BINFLOAT
  0x58: (r) => utf8Of(r, r.u32()), // BINUNICODE
  0x8c: (r) => utf8Of(r, r.u8()), // SHORT_BINUNICODE
  0x8d: (r) => utf8Of(r, r.u64()), // BINUNICODE8
  0x56: (r) => parseRawUnicodeEscape(r.line(), (m) => r.fail(m)), // UNICODE
  0x53: (r) => parseStringLiteral(r.line(), (m) => r.fail(m)), // STRING
  0x54: (r) => decodeLegacyString(r.take(nonNegativeLength(r))), // BINSTRING
  0x55: (r) => decodeLegacyString(r.take(r.u8())), // SHORT_BINSTRING
  0x42: (r) => r.takeCopy(r.u32()), // BINBYTES
  0x43: (r) => r.takeCopy(r.u8()), // SHORT_BINBYTES
  0x8e: (r) => r.takeCopy(r.u64()), // BINBYTES8
  0x96: (r) => r.takeCopy(r.u64()), // BYTEARRAY8
};
