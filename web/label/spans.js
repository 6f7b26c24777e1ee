// A Text object with the spans of its Labels controls: select text with the mouse to add a
// span with the active label; spans are highlighted; a click on one deletes it (Shift+click
// selects it for relations). Offsets are code points (see unicode.js); the text is always
// put in the page as text nodes, never as markup.
import { h } from '../dom.js';
import { newId } from './editor.js';
import { colorClass } from './common.js';
import { u16ToCp } from './unicode.js';

export function mountText({ editor, object, text, labelControls }) {
  const body = h('div', { class: 'text-body', dataset: { object: object.name } });
  const el = h('div', { class: 'object object-text' }, body);
  // cp -> UTF-16 index, once per text: rendering slices by it.
  const cpIndex = [0];
  for (let u = 0; u < text.length;) {
    u += text.codePointAt(u) > 0xffff ? 2 : 1;
    cpIndex.push(u);
  }
  const nCp = cpIndex.length - 1;
  const controlOf = new Map(labelControls.map((c) => [c.name, c]));

  function spans() {
    return editor.result.filter((r) => r.type === 'labels' && r.to_name === object.name &&
      controlOf.has(r.from_name) && r.value && Number.isInteger(r.value.start) &&
      Number.isInteger(r.value.end) && r.value.start < r.value.end);
  }

  function activeLabel() {
    for (const c of labelControls) {
      const l = editor.active.get(c.name);
      if (l) return { control: c, label: l };
    }
    return null;
  }

  // The current selection as code point offsets in this text, or null.
  function selectionOffsets() {
    const sel = window.getSelection();
    if (!sel || !sel.rangeCount || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    if (!body.contains(r.startContainer) || !body.contains(r.endContainer)) return null;
    const pre = document.createRange();
    pre.selectNodeContents(body);
    pre.setEnd(r.startContainer, r.startOffset);
    const s16 = pre.toString().length;
    const e16 = s16 + r.toString().length;
    const start = u16ToCp(text, s16);
    const end = u16ToCp(text, e16);
    return end > start ? { start, end } : null;
  }

  // Adds a span over the current selection with the given (or active) label.
  function addFromSelection(pick) {
    const a = pick || activeLabel();
    if (!a || !controlOf.has(a.control.name)) return false;
    const off = selectionOffsets();
    if (!off) return false;
    const item = {
      id: newId(),
      from_name: a.control.name,
      to_name: object.name,
      type: 'labels',
      value: {
        start: off.start,
        end: off.end,
        text: text.slice(cpIndex[off.start], cpIndex[off.end]),
        labels: [a.label],
      },
    };
    window.getSelection().removeAllRanges();
    editor.update((r) => { r.push(item); });
    editor.selectNew(item.id);
    return true;
  }

  let down = null;
  body.addEventListener('mousedown', (e) => { down = { x: e.clientX, y: e.clientY }; });
  body.addEventListener('mouseup', () => {
    // Let the browser finish the selection first.
    setTimeout(() => addFromSelection(), 0);
  });
  body.addEventListener('click', (e) => {
    const moved = down && (Math.abs(e.clientX - down.x) > 3 || Math.abs(e.clientY - down.y) > 3);
    if (moved) return;
    const seg = e.target.closest('.hl');
    if (!seg || !body.contains(seg)) return;
    const id = seg.dataset.ids.split(' ')[0];
    if (e.shiftKey) editor.toggleSelected(id, false);
    else editor.removeRegion(id);
  });

  function render() {
    const list = spans();
    const cuts = new Set([0, nCp]);
    for (const s of list) {
      cuts.add(Math.min(s.value.start, nCp));
      cuts.add(Math.min(s.value.end, nCp));
    }
    const points = [...cuts].sort((a, b) => a - b);
    const nodes = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i];
      const b = points[i + 1];
      if (a === b) continue;
      const piece = text.slice(cpIndex[a], cpIndex[b]);
      // Innermost (shortest) span first: it is the one drawn and the one a click deletes.
      const cover = list.filter((s) => s.value.start <= a && s.value.end >= b)
        .sort((x, y) => (x.value.end - x.value.start) - (y.value.end - y.value.start));
      if (!cover.length) {
        nodes.push(document.createTextNode(piece));
        continue;
      }
      const top = cover[0];
      const label = (top.value.labels || [])[0] || '';
      const c = controlOf.get(top.from_name);
      const ends = cover.filter((s) => s.value.end === b);
      nodes.push(h('span', {
        class: ['hl', colorClass(c.labels, label), cover.length > 1 && 'nested',
          cover.some((s) => editor.selected.includes(s.id)) && 'sel', ends.length && 'end'],
        dataset: { ids: cover.map((s) => s.id).join(' '), label: ends.map((s) => (s.value.labels || []).join(',')).join(' · ') },
        title: cover.map((s) => (s.value.labels || []).join(',')).join(' / '),
      }, piece));
    }
    body.replaceChildren(...nodes);
  }

  return { el, render, addFromSelection, hasSelection: () => !!selectionOffsets() };
}
