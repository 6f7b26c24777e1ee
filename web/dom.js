// Builds DOM nodes. Strings always become text nodes (never parsed as HTML): task data
// shown through these helpers cannot inject markup or script.
const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'vars') for (const [name, val] of Object.entries(v)) el.style.setProperty(name, String(val));
    else if (k === 'dataset') for (const [name, val] of Object.entries(v)) el.dataset[name] = String(val);
    else if (k === 'style') throw new Error('inline styles are not allowed (CSP); use classes or vars');
    else if (k.startsWith('on')) throw new Error('use on: {event: fn}');
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// h('button', {class: 'primary', on: {click}}, 'Submit')
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}
