// An Image object with the boxes of its RectangleLabels controls, drawn in an SVG laid over
// the image. The SVG's viewBox is 0..100 in both axes, so Label Studio's percent
// coordinates are its user units. Drag on the image to draw; click a box to select it,
// drag it to move, drag its corner to resize; Delete removes (handled by the page).
import { h, s } from '../dom.js';
import { t } from '../i18n.js';
import { newId } from './editor.js';
import { colorClass } from './common.js';

const MIN_SIZE = 0.5; // percent: smaller drags are clicks
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const round = (v) => Math.round(v * 1e4) / 1e4;

function loadableSrc(v) {
  return typeof v === 'string' && /^(https?:|data:image\/)/i.test(v);
}

export function mountImage({ editor, object, src, rectControls }) {
  const controlOf = new Map(rectControls.map((c) => [c.name, c]));
  const boxes = () => editor.result.filter((r) => r.type === 'rectanglelabels' &&
    r.to_name === object.name && controlOf.has(r.from_name) && r.value);
  // Size of the original image: the loaded image's, else what stored boxes say.
  let nat = null;
  for (const b of boxes()) {
    if (b.original_width > 0 && b.original_height > 0) { nat = { w: b.original_width, h: b.original_height }; break; }
  }
  const stage = h('div', { class: 'image-stage', dataset: { object: object.name } });
  const svg = s('svg', { class: 'boxes', viewBox: '0 0 100 100', preserveAspectRatio: 'none' });
  const labelsLayer = h('div', { class: 'box-labels' });
  let img = null;
  if (loadableSrc(src)) {
    img = h('img', { class: 'image', src, alt: object.name, draggable: 'false' });
    img.addEventListener('load', () => {
      nat = { w: img.naturalWidth, h: img.naturalHeight };
      size();
      render();
    });
    stage.append(img);
  } else {
    stage.append(h('div', { class: 'image-placeholder', text: t('image_not_loadable', { path: String(src ?? '') }) }));
  }
  stage.append(svg, labelsLayer);
  const el = h('div', { class: 'object object-image' }, stage);

  function size() {
    const n = nat || { w: 640, h: 480 };
    const w = clamp(n.w, 480, 800);
    stage.style.setProperty('--stage-w', `${w}px`);
    stage.style.setProperty('--stage-h', `${(w * n.h) / n.w}px`);
  }
  size();

  function point(e) {
    const r = svg.getBoundingClientRect();
    return { x: clamp(((e.clientX - r.left) / r.width) * 100, 0, 100), y: clamp(((e.clientY - r.top) / r.height) * 100, 0, 100) };
  }

  function activeLabel() {
    for (const c of rectControls) {
      const l = editor.active.get(c.name);
      if (l) return { control: c, label: l };
    }
    return rectControls.length && rectControls[0].labels.length
      ? { control: rectControls[0], label: rectControls[0].labels[0] } : null;
  }

  let drag = null; // {mode: 'draw'|'move'|'resize', start, box?, id?, live}
  const live = s('rect', { class: 'draft-box', 'vector-effect': 'non-scaling-stroke' });

  svg.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    const p = point(e);
    const target = e.target;
    const id = target.dataset ? target.dataset.id : undefined;
    if (target.classList.contains('handle') && id) {
      drag = { mode: 'resize', start: p, id, box: { ...editor.byId(id).value } };
    } else if (target.classList.contains('box') && id) {
      if (!(editor.selected.length === 1 && editor.selected[0] === id)) editor.toggleSelected(id, true);
      drag = { mode: 'move', start: p, id, box: { ...editor.byId(id).value } };
    } else {
      if (editor.selected.length) { editor.selected = []; editor.emit(); }
      drag = { mode: 'draw', start: p, box: { x: p.x, y: p.y, width: 0, height: 0 } };
      svg.append(live);
    }
    svg.setPointerCapture(e.pointerId);
  });

  function dragged(d, p) {
    const dx = p.x - d.start.x;
    const dy = p.y - d.start.y;
    if (d.mode === 'draw') {
      return { x: Math.min(p.x, d.start.x), y: Math.min(p.y, d.start.y), width: Math.abs(dx), height: Math.abs(dy) };
    }
    if (d.mode === 'move') {
      return { x: clamp(d.box.x + dx, 0, 100 - d.box.width), y: clamp(d.box.y + dy, 0, 100 - d.box.height), width: d.box.width, height: d.box.height };
    }
    return { x: d.box.x, y: d.box.y, width: clamp(d.box.width + dx, MIN_SIZE, 100 - d.box.x), height: clamp(d.box.height + dy, MIN_SIZE, 100 - d.box.y) };
  }

  function place(rect, b) {
    rect.setAttribute('x', b.x);
    rect.setAttribute('y', b.y);
    rect.setAttribute('width', b.width);
    rect.setAttribute('height', b.height);
  }

  svg.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const b = dragged(drag, point(e));
    drag.moved = true;
    if (drag.mode === 'draw') place(live, b);
    else {
      const r = svg.querySelector(`rect.box[data-id="${CSS.escape(drag.id)}"]`);
      if (r) place(r, b);
    }
  });

  function finish(e) {
    if (!drag) return;
    const d = drag;
    drag = null;
    live.remove();
    if (!d.moved) return;
    const b = dragged(d, point(e));
    if (d.mode === 'draw') {
      if (b.width < MIN_SIZE || b.height < MIN_SIZE) return;
      const a = activeLabel();
      if (!a) return;
      const n = nat || { w: 640, h: 480 };
      const item = {
        id: newId(), from_name: a.control.name, to_name: object.name, type: 'rectanglelabels',
        original_width: n.w, original_height: n.h, image_rotation: 0,
        value: { x: round(b.x), y: round(b.y), width: round(b.width), height: round(b.height), rotation: 0, rectanglelabels: [a.label] },
      };
      editor.update((r) => { r.push(item); });
      editor.toggleSelected(item.id, true);
      return;
    }
    if (Math.abs(b.x - d.box.x) < 1e-6 && Math.abs(b.y - d.box.y) < 1e-6 &&
        Math.abs(b.width - d.box.width) < 1e-6 && Math.abs(b.height - d.box.height) < 1e-6) return;
    editor.update((r) => {
      const item = r.find((x) => x.id === d.id);
      if (!item) return;
      Object.assign(item.value, { x: round(b.x), y: round(b.y), width: round(b.width), height: round(b.height) });
      if (nat) { item.original_width = nat.w; item.original_height = nat.h; }
    });
  }
  svg.addEventListener('pointerup', finish);
  svg.addEventListener('pointercancel', () => { drag = null; live.remove(); render(); });

  function render() {
    const list = boxes();
    const nodes = [];
    const tags = [];
    const r = stage.getBoundingClientRect();
    const hw = r.width ? (10 / r.width) * 100 : 1.5;
    const hh = r.height ? (10 / r.height) * 100 : 1.5;
    for (const b of list) {
      const v = b.value;
      const label = (v.rectanglelabels || [])[0] || '';
      const c = controlOf.get(b.from_name);
      const sel = editor.selected.includes(b.id);
      const rect = s('rect', { class: ['box', colorClass(c.labels, label), sel && 'sel'], dataset: { id: b.id, label },
        'vector-effect': 'non-scaling-stroke' });
      place(rect, v);
      nodes.push(rect);
      if (sel) {
        const hnd = s('rect', { class: 'handle', dataset: { id: b.id }, 'vector-effect': 'non-scaling-stroke' });
        place(hnd, { x: v.x + v.width - hw / 2, y: v.y + v.height - hh / 2, width: hw, height: hh });
        nodes.push(hnd);
      }
      tags.push(h('div', { class: ['box-label', colorClass(c.labels, label), sel && 'sel'], text: label,
        vars: { '--x': v.x, '--y': v.y } }));
    }
    svg.replaceChildren(...nodes);
    if (drag && drag.mode === 'draw') svg.append(live);
    labelsLayer.replaceChildren(...tags);
  }
  return { el, render };
}
