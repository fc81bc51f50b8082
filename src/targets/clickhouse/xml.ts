// The small XML subset ClickHouse's users.d files need: elements, text, the <?xml?> declaration.
// No attributes, comments, CDATA, DOCTYPE or entities other than the five predefined ones: what
// we write is exactly what parseXml reads back, and a file that does not parse is never written
// (one bad users.d file stops ClickHouse reloading every user — COMPONENTS.md).
//
//   Node  = { name, children: Node[] } | { text }
//   name  = [A-Za-z_][A-Za-z0-9_.-]*      (ClickHouse user and profile names become element names)

export type XmlNode = XmlElement | XmlText;
export interface XmlElement {
  name: string;
  children: XmlNode[];
}
export interface XmlText {
  text: string;
}

export const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const DECL = '<?xml version="1.0"?>';
const MAX_DEPTH = 16;

export function el(name: string, ...children: (XmlNode | string)[]): XmlElement {
  if (!XML_NAME.test(name)) throw new RangeError(`not an XML element name: ${JSON.stringify(name)}`);
  return { name, children: children.map((c) => (typeof c === 'string' ? { text: c } : c)) };
}

export function escapeXml(s: string): string {
  // Control characters other than tab/newline are not allowed in XML 1.0 at all.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s)) {
    throw new RangeError('text contains a character XML cannot carry');
  }
  return s.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

function write(n: XmlNode, indent: string, out: string[]): void {
  if ('text' in n) {
    out.push(escapeXml(n.text));
    return;
  }
  const onlyText = n.children.every((c) => 'text' in c);
  if (n.children.length === 0) out.push(`${indent}<${n.name}/>\n`);
  else if (onlyText) {
    out.push(`${indent}<${n.name}>`);
    for (const c of n.children) write(c, '', out);
    out.push(`</${n.name}>\n`);
  } else {
    out.push(`${indent}<${n.name}>\n`);
    for (const c of n.children) {
      if ('text' in c) throw new RangeError(`<${n.name}> mixes text and elements`);
      write(c, indent + '    ', out);
    }
    out.push(`${indent}</${n.name}>\n`);
  }
}

export function serializeXml(root: XmlElement): string {
  const out = [DECL, '\n'];
  write(root, '', out);
  return out.join('');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(s: string): string {
  return s.replace(/&([a-z]+);|&/g, (m, name?: string) => {
    const v = name === undefined ? undefined : ENTITIES[name];
    if (v === undefined) throw new SyntaxError(`bad entity ${m}`);
    return v;
  });
}

/** Parses the subset serializeXml writes; throws SyntaxError on anything else. */
export function parseXml(src: string): XmlElement {
  let i = 0;
  if (src.startsWith(DECL)) i = DECL.length;
  const ws = () => {
    while (i < src.length && ' \t\r\n'.includes(src[i]!)) i++;
  };
  const name = () => {
    const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i, i + 256));
    if (!m) throw new SyntaxError(`expected an element name at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const element = (depth: number): XmlElement => {
    if (depth > MAX_DEPTH) throw new SyntaxError('too deep');
    if (src[i] !== '<') throw new SyntaxError(`expected < at ${i}`);
    i++;
    const n = name();
    ws();
    if (src.startsWith('/>', i)) {
      i += 2;
      return { name: n, children: [] };
    }
    if (src[i] !== '>') throw new SyntaxError(`expected > at ${i} (attributes are not allowed)`);
    i++;
    const children: XmlNode[] = [];
    for (;;) {
      const lt = src.indexOf('<', i);
      if (lt < 0) throw new SyntaxError(`<${n}> is not closed`);
      const text = src.slice(i, lt);
      i = lt;
      if (src.startsWith('</', i)) {
        if (children.length > 0 && text.trim() !== '')
          throw new SyntaxError(`<${n}> mixes text and elements`);
        if (children.length === 0 && text !== '') children.push({ text: unescape(text) });
        i += 2;
        if (name() !== n) throw new SyntaxError(`</…> does not close <${n}> at ${i}`);
        ws();
        if (src[i] !== '>') throw new SyntaxError(`expected > at ${i}`);
        i++;
        return { name: n, children };
      }
      if (text.trim() !== '') throw new SyntaxError(`<${n}> mixes text and elements`);
      if (src.startsWith('<!', i) || src.startsWith('<?', i))
        throw new SyntaxError(`unsupported markup at ${i}`);
      children.push(element(depth + 1));
    }
  };
  ws();
  const root = element(0);
  ws();
  if (i !== src.length) throw new SyntaxError(`trailing content at ${i}`);
  return root;
}

/** The element children of n named `name`. */
export function childrenNamed(n: XmlElement, name: string): XmlElement[] {
  return n.children.filter((c): c is XmlElement => 'name' in c && c.name === name);
}

/** The text of an element that holds only text ('' when empty), or undefined. */
export function textOf(n: XmlElement): string | undefined {
  if (n.children.length === 0) return '';
  if (n.children.length === 1 && 'text' in n.children[0]!) return n.children[0].text;
  return undefined;
}
