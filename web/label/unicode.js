// Offsets in annot (as in Label Studio) count Unicode code points; JS strings index UTF-16
// units, where an emoji or other astral character takes two. These convert between them.

// Code point index -> UTF-16 index in str (clamped to the string's end).
export function cpToU16(str, cp) {
  let u = 0;
  for (let i = 0; i < cp && u < str.length; i++) {
    const c = str.codePointAt(u);
    u += c > 0xffff ? 2 : 1;
  }
  return u;
}

// UTF-16 index -> code point index. An index inside a surrogate pair counts the pair whole
// (it rounds up), so a selection never splits a character.
export function u16ToCp(str, u16) {
  let cp = 0;
  let u = 0;
  while (u < u16 && u < str.length) {
    const c = str.codePointAt(u);
    u += c > 0xffff ? 2 : 1;
    cp++;
  }
  return cp;
}

export function cpLength(str) {
  return u16ToCp(str, str.length);
}

// The substring between code point offsets start and end.
export function cpSlice(str, start, end) {
  return str.slice(cpToU16(str, start), cpToU16(str, end));
}
