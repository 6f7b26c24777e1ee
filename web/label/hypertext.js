// A HyperText object: the task's HTML is rendered (layout, formatting) only inside an
// <iframe sandbox="" srcdoc="…">. The empty sandbox gives the frame an opaque origin and no
// scripts, forms, popups or top navigation, so task HTML can neither run nor reach this page.
// A frame is never sized from its content: reading it would need the same origin.
// The page's CSP allows a srcdoc frame (it is not fetched, so frame-src does not apply), but
// the frame inherits that policy: its style-src 'self' refuses task HTML's style attributes
// and <style> blocks, so markup formats (b, i, lists, tables, headings) and inline CSS does not.
import { h } from '../dom.js';

// The frame's own policy, on top of the page's one it inherits (srcdoc documents do): task
// HTML loads nothing from anywhere, so an <img src> cannot send a request with the
// annotator's cookies to this server or to a tracker; inline data: images still show.
const FRAME_CSP = "default-src 'none'; img-src data:";

export function frameDoc(html) {
  return `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}"></head>` +
    `<body>${html}</body></html>`;
}

export function mountHyperText({ object, html }) {
  const frame = h('iframe', {
    class: 'hypertext-frame',
    sandbox: '', // no tokens: every restriction applies
    srcdoc: frameDoc(html),
    title: object.name,
    width: '100%',
    height: '400',
    referrerpolicy: 'no-referrer',
    dataset: { object: object.name },
  });
  const el = h('div', { class: 'object object-hypertext' }, frame);
  return { el, render() {}, addFromSelection: () => false, hasSelection: () => false };
}
