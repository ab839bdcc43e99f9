/**
 * A strict XML 1.0 well-formedness check, small enough to trust: one root
 * element, properly nested and matching tags, quoted attributes without
 * duplicates, no '<' in attribute values, only the five predefined or
 * numeric entities, '&' never bare, comments, CDATA, a prolog. Returns the
 * element count; throws with the offset of the first error.
 */

const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*/;

export function checkWellFormedXml(doc: string): { elements: number; texts: string[] } {
  let i = 0;
  const stack: string[] = [];
  let elements = 0;
  let rootClosed = false;
  const texts: string[] = [];
  const fail = (why: string): never => {
    throw new Error(`XML not well-formed at ${i}: ${why} near ${JSON.stringify(doc.slice(i, i + 40))}`);
  };
  const checkText = (t: string): void => {
    for (let k = t.indexOf('&'); k >= 0; k = t.indexOf('&', k + 1)) {
      if (!/^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/.test(t.slice(k)))
        fail(`bare or unknown entity in ${JSON.stringify(t.slice(k, k + 12))}`);
    }
  };
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) fail('unterminated XML declaration');
    i = end + 2;
  }
  while (i < doc.length) {
    const lt = doc.indexOf('<', i);
    const text = doc.slice(i, lt < 0 ? doc.length : lt);
    if (text.trim() !== '') {
      if (stack.length === 0) fail('text outside the root element');
      if (text.includes('>') && text.includes(']]>')) fail("']]>' in text");
      checkText(text);
      texts.push(text);
    }
    if (lt < 0) break;
    i = lt;
    if (doc.startsWith('<!--', i)) {
      const end = doc.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (doc.slice(i + 4, end).includes('--')) fail("'--' inside a comment");
      i = end + 3;
    } else if (doc.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('CDATA outside the root');
      const end = doc.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA');
      i = end + 3;
    } else if (doc.startsWith('<?', i)) {
      const end = doc.indexOf('?>', i);
      if (end < 0) fail('unterminated processing instruction');
      i = end + 2;
    } else if (doc.startsWith('<!', i)) {
      fail('DOCTYPE and declarations are not expected here');
    } else if (doc.startsWith('</', i)) {
      i += 2;
      const m = NAME.exec(doc.slice(i));
      if (!m) fail('bad closing tag name');
      const name = m![0];
      i += name.length;
      while (/\s/.test(doc[i] ?? '')) i++;
      if (doc[i] !== '>') fail(`'>' expected after </${name}`);
      i++;
      const open = stack.pop();
      if (open !== name) fail(`</${name}> closes <${open ?? 'nothing'}>`);
      if (stack.length === 0) rootClosed = true;
    } else {
      if (rootClosed) fail('a second root element');
      i++;
      const m = NAME.exec(doc.slice(i));
      if (!m) fail('bad tag name');
      const name = m![0];
      i += name.length;
      const seen = new Set<string>();
      for (;;) {
        const ws = /^\s*/.exec(doc.slice(i))![0].length;
        i += ws;
        if (doc.startsWith('/>', i)) {
          i += 2;
          elements++;
          if (stack.length === 0) rootClosed = true;
          break;
        }
        if (doc[i] === '>') {
          i++;
          elements++;
          stack.push(name);
          break;
        }
        if (ws === 0) fail('whitespace expected before an attribute');
        const a = NAME.exec(doc.slice(i));
        if (!a) fail('bad attribute name');
        const an = a![0];
        if (seen.has(an)) fail(`duplicate attribute ${an}`);
        seen.add(an);
        i += an.length;
        const eq = /^\s*=\s*/.exec(doc.slice(i));
        if (!eq) fail(`'=' expected after ${an}`);
        i += eq![0].length;
        const q = doc[i];
        if (q !== '"' && q !== "'") fail('attribute value must be quoted');
        const end = doc.indexOf(q!, i + 1);
        if (end < 0) fail('unterminated attribute value');
        const v = doc.slice(i + 1, end);
        if (v.includes('<')) fail("'<' in an attribute value");
        checkText(v);
        i = end + 1;
      }
    }
  }
  if (stack.length > 0) throw new Error(`XML not well-formed: unclosed <${stack[stack.length - 1]}>`);
  if (!rootClosed) throw new Error('XML not well-formed: no root element');
  return { elements, texts };
}
