// A Paragraphs object: a dialogue, one utterance per entry of the task's list ({author,
// text}; a plain string is an utterance without author). With Labels on it, select words in
// one utterance to label them: value.start and value.end are the utterance's index,
// startOffset and endOffset code points within its text (as Label Studio writes them).
// A click on a highlight deletes it; Shift+click selects it for relations.
import { h } from '../dom.js';
import { newId } from './editor.js';
import { colorClass } from './common.js';
import { u16ToCp, cpSlice } from './unicode.js';

export function utterances(value) {
  if (!Array.isArray(value)) return [];
  return value.map((u) => {
    if (typeof u === 'string') return { author: '', text: u };
    if (u && typeof u === 'object') {
      return { author: String(u.author ?? u.speaker ?? u.name ?? ''), text: String(u.text ?? u.body ?? u.title ?? '') };
    }
    return { author: '', text: String(u) };
  });
}

export function mountParagraphs({ editor, object, value, labelControls }) {
  const list = utterances(value);
  const controlOf = new Map(labelControls.map((c) => [c.name, c]));
  const bodies = [];
  const rows = list.map((u, i) => {
    const body = h('span', { class: 'utt-text', dataset: { idx: i } });
    bodies.push(body);
    return h('div', { class: 'utterance', dataset: { idx: i } },
      u.author ? h('span', { class: 'utt-author', text: u.author }) : null, body);
  });
  const el = h('div', { class: 'object object-paragraphs', dataset: { object: object.name } }, rows);

  const idx = (v) => Number(v);
  function spans() {
    return editor.result.filter((r) => r.type === 'labels' && r.to_name === object.name &&
      controlOf.has(r.from_name) && r.value && Number.isInteger(idx(r.value.start)) &&
      idx(r.value.start) === idx(r.value.end) && r.value.endOffset > r.value.startOffset);
  }

  function activeLabel() {
    for (const c of labelControls) {
      const l = editor.active.get(c.name);
      if (l) return { control: c, label: l };
    }
    return null;
  }

  // The selection as {i, start, end} (code points in utterance i), or null. A selection
  // over several utterances is not a span.
  function selectionOffsets() {
    const sel = window.getSelection();
    if (!sel || !sel.rangeCount || sel.isCollapsed) return null;
    const r = sel.getRangeAt(0);
    const a = r.startContainer.parentElement?.closest('.utt-text');
    const b = r.endContainer.parentElement?.closest('.utt-text');
    if (!a || a !== b || !el.contains(a)) return null;
    const i = Number(a.dataset.idx);
    const pre = document.createRange();
    pre.selectNodeContents(a);
    pre.setEnd(r.startContainer, r.startOffset);
    const s16 = pre.toString().length;
    const text = list[i].text;
    const start = u16ToCp(text, s16);
    const end = u16ToCp(text, s16 + r.toString().length);
    return end > start ? { i, start, end } : null;
  }

  function addFromSelection(pick) {
    const a = pick || activeLabel();
    if (!a || !controlOf.has(a.control.name)) return false;
    const off = selectionOffsets();
    if (!off) return false;
    const item = {
      id: newId(), from_name: a.control.name, to_name: object.name, type: 'labels',
      value: { start: String(off.i), end: String(off.i), startOffset: off.start, endOffset: off.end,
        text: cpSlice(list[off.i].text, off.start, off.end), labels: [a.label] },
    };
    window.getSelection().removeAllRanges();
    editor.update((r) => { r.push(item); });
    editor.selectNew(item.id);
    return true;
  }

  let down = null;
  el.addEventListener('mousedown', (e) => { down = { x: e.clientX, y: e.clientY }; });
  el.addEventListener('mouseup', () => setTimeout(() => addFromSelection(), 0));
  el.addEventListener('click', (e) => {
    const moved = down && (Math.abs(e.clientX - down.x) > 3 || Math.abs(e.clientY - down.y) > 3);
    const seg = e.target.closest('.hl');
    if (moved || !seg) return;
    const id = seg.dataset.ids.split(' ')[0];
    if (e.shiftKey) editor.toggleSelected(id, false);
    else editor.removeRegion(id);
  });

  function render() {
    const all = spans();
    list.forEach((u, i) => {
      const mine = all.filter((s) => idx(s.value.start) === i);
      const text = u.text;
      const cuts = new Set([0]);
      const n = u16ToCp(text, text.length);
      cuts.add(n);
      for (const s of mine) { cuts.add(Math.min(s.value.startOffset, n)); cuts.add(Math.min(s.value.endOffset, n)); }
      const points = [...cuts].sort((x, y) => x - y);
      const nodes = [];
      for (let k = 0; k + 1 < points.length; k++) {
        const a = points[k];
        const b = points[k + 1];
        if (a === b) continue;
        const piece = cpSlice(text, a, b);
        const cover = mine.filter((s) => s.value.startOffset <= a && s.value.endOffset >= b)
          .sort((x, y) => (x.value.endOffset - x.value.startOffset) - (y.value.endOffset - y.value.startOffset));
        if (!cover.length) { nodes.push(document.createTextNode(piece)); continue; }
        const top = cover[0];
        const label = (top.value.labels || [])[0] || '';
        const ends = cover.filter((s) => s.value.endOffset === b);
        nodes.push(h('span', {
          class: ['hl', colorClass(controlOf.get(top.from_name).labels, label), cover.length > 1 && 'nested',
            cover.some((s) => editor.selected.includes(s.id)) && 'sel', ends.length && 'end'],
          dataset: { ids: cover.map((s) => s.id).join(' '), label: ends.map((s) => (s.value.labels || []).join(',')).join(' · ') },
        }, piece));
      }
      bodies[i].replaceChildren(...nodes);
    });
  }
  return { el, render, addFromSelection };
}
