/**
 * Text decoding for pickle string opcodes: strict UTF-8, Python 2 legacy strings, and the quoted
 * literals and raw-unicode-escapes of protocol 0 arguments.
 */

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** Latin-1 never fails, so protocol 0 lines always decode. */
export function decodeLatin1(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

export function decodeUtf8(bytes: Uint8Array, fail: () => never): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return fail();
  }
}

/** Python 2 `str` / BINSTRING payloads: UTF-8 when valid, otherwise Latin-1 (never fails). */
export function decodeLegacyString(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return latin1.decode(bytes);
  }
}

/** Python string literal as written by protocol 0 STRING: `'...'` or `"..."` with escapes. */
export function parseStringLiteral(s: string, fail: (message: string) => never): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) {
    fail('STRING argument is not a quoted string literal');
  }
  const body = s.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 0x5c) {
      out.push(c & 0xff);
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'n': out.push(10); break;
      case 'r': out.push(13); break;
      case 't': out.push(9); break;
      case 'a': out.push(7); break;
      case 'b': out.push(8); break;
      case 'f': out.push(12); break;
      case 'v': out.push(11); break;
      case '\\': out.push(0x5c); break;
      case "'": out.push(0x27); break;
      case '"': out.push(0x22); break;
      case '\n': break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) fail('bad \\x escape in STRING');
        out.push(parseInt(h, 16));
        i += 2;
        break;
      }
      default: {
        const m = /^[0-7]{1,3}/.exec(body.slice(i));
        if (m) {
          out.push(parseInt(m[0], 8) & 0xff);
          i += m[0].length - 1;
        } else {
          out.push(0x5c);
          if (e !== undefined) out.push(e.charCodeAt(0) & 0xff);
        }
      }
    }
  }
  return decodeLegacyString(Uint8Array.from(out));
}

/** protocol 0 UNICODE argument: raw-unicode-escape (\\uXXXX, \\UXXXXXXXX, Latin-1 otherwise). */
export function parseRawUnicodeEscape(s: string, fail: (message: string) => never): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4?: string, u8?: string) => {
    const cp = parseInt((u4 ?? u8) as string, 16);
    if (cp > 0x10ffff) fail('bad \\U escape in UNICODE');
    return String.fromCodePoint(cp);
  });
}
