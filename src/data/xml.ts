/**
 * A small XML reader: enough for Pascal VOC annotation files (elements, attributes, text, comments,
 * CDATA, processing instructions, a DOCTYPE without internal subset, the five predefined entities and
 * numeric character references). Not a validating parser; errors carry the line number.
 */
import { Yolo4Error } from '../util/errors.ts';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated text directly inside this element (not of its children), trimmed. */
  text: string;
  /** 1-based line of the start tag. */
  line: number;
}

export class XmlError extends Yolo4Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'XmlError';
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, lineAt: () => number): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (_m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return String.fromCodePoint(code);
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new XmlError(`unknown entity &${e};`, lineAt());
    return v;
  });
}

/** Parses a document and returns its root element. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  // Line numbers, counted incrementally (positions asked for only move forward, except in errors).
  let cachePos = 0;
  let cacheLine = 1;
  const lineAt = (pos = i) => {
    if (pos < cachePos) {
      cachePos = 0;
      cacheLine = 1;
    }
    for (let k = cachePos; k < pos && k < src.length; k++) if (src.charCodeAt(k) === 10) cacheLine++;
    cachePos = Math.max(cachePos, Math.min(pos, src.length));
    return cacheLine;
  };
  const fail = (msg: string, pos = i): never => {
    throw new XmlError(msg, lineAt(pos));
  };
  const skipUntil = (end: string, what: string) => {
    const j = src.indexOf(end, i);
    if (j < 0) fail(`unterminated ${what}`);
    i = j + end.length;
  };
  const nameRe = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
  const readName = (): string => {
    nameRe.lastIndex = i;
    const m = nameRe.exec(src);
    if (!m) fail('expected a name');
    i += m![0].length;
    return m![0];
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };

  if (src.charCodeAt(0) === 0xfeff) i = 1;
  const stack: XmlElement[] = [];
  const texts: string[][] = [];
  let root: XmlElement | undefined;

  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) {
      const raw = src.slice(i, textEnd);
      if (stack.length) texts[texts.length - 1].push(decodeEntities(raw, () => lineAt()));
      else if (raw.trim()) fail('text outside the root element');
      i = textEnd;
      continue;
    }
    // At '<'.
    if (src.startsWith('<!--', i)) {
      skipUntil('-->', 'comment');
    } else if (src.startsWith('<![CDATA[', i)) {
      const j = src.indexOf(']]>', i);
      if (j < 0) fail('unterminated CDATA section');
      if (!stack.length) fail('CDATA outside the root element');
      texts[texts.length - 1].push(src.slice(i + 9, j));
      i = j + 3;
    } else if (src.startsWith('<?', i)) {
      skipUntil('?>', 'processing instruction');
    } else if (src.startsWith('<!', i)) {
      skipUntil('>', 'declaration');
    } else if (src.startsWith('</', i)) {
      const start = i;
      i += 2;
      const name = readName();
      skipWs();
      if (src[i] !== '>') fail(`expected '>' to close </${name}`);
      i++;
      const open = stack.pop();
      if (!open) fail(`closing tag </${name}> without an opening tag`, start);
      if (open!.name !== name) fail(`closing tag </${name}> does not match <${open!.name}> (line ${open!.line})`, start);
      open!.text = texts.pop()!.join('').trim();
    } else {
      const start = i;
      i++;
      const name = readName();
      const el: XmlElement = { name, attrs: {}, children: [], text: '', line: lineAt(start) };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(el);
      else if (root) fail(`second root element <${name}>`, start);
      else root = el;
      for (;;) {
        skipWs();
        if (src.startsWith('/>', i)) {
          i += 2;
          break;
        }
        if (src[i] === '>') {
          i++;
          stack.push(el);
          texts.push([]);
          break;
        }
        if (i >= src.length) fail(`unterminated start tag <${name}>`, start);
        const an = readName();
        skipWs();
        if (src[i] !== '=') fail(`attribute ${an} of <${name}> has no value`);
        i++;
        skipWs();
        const q = src[i];
        if (q !== '"' && q !== "'") fail(`attribute ${an} of <${name}> is not quoted`);
        const j = src.indexOf(q, i + 1);
        if (j < 0) fail(`unterminated attribute ${an}`);
        el.attrs[an] = decodeEntities(src.slice(i + 1, j), () => lineAt());
        i = j + 1;
      }
    }
  }
  if (stack.length) fail(`element <${stack[stack.length - 1].name}> (line ${stack[stack.length - 1].line}) is never closed`);
  if (!root) fail('no root element');
  return root!;
}

/** First child element with this name, if any. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}

/** All child elements with this name. */
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}
