// An Image object with the regions of its RectangleLabels, PolygonLabels and KeyPointLabels
// controls, drawn in one SVG laid over the image. The SVG's viewBox is 0..100 in both axes,
// so Label Studio's percent coordinates are its user units, whatever the zoom.
//   boxes:     drag on the image to draw; drag a box to move it, its corner to resize
//   polygons:  click points; click the first point (or press Enter) to close; Esc cancels
//   keypoints: click to place
// Click a region to select it (Shift+click adds it to the selection); Delete removes (the
// page handles that). Wheel zooms around the cursor; drag with Space held or the middle
// button pans; the zoom bar resets.
// Thousands of regions stay fast: the SVG has one listener per event (delegation on
// data-id), each region's element is kept and only touched when its value changes, and a
// drag moves just the dragged element until the pointer is released.
import { h, s } from '../dom.js';
import { t } from '../i18n.js';
import { newId } from './editor.js';
import { colorClass } from './common.js';

const MIN_SIZE = 0.5; // percent: smaller drags are clicks
const MAX_ZOOM = 20;
const KP_WIDTH = 1; // keypoint size written to value.width, percent of the image width
const CLOSE_PX = 8; // a click this near the first point closes a polygon
const LAYER_SIZE = 400; // regions per SVG layer
const MANY = 300; // above this many regions only the selected ones show their label tag
const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const round = (v) => Math.round(v * 1e4) / 1e4;
const TYPES = { rectanglelabels: 'rect', polygonlabels: 'polygon', keypointlabels: 'keypoint' };

function labelOf(item) {
  const v = item.value || {};
  return (v[item.type] || [])[0] || '';
}

function pointsAttr(pts) {
  return pts.map((p) => `${p[0]},${p[1]}`).join(' ');
}

export function mountImage({ editor, object, src, controls, cleanup }) {
  const controlOf = new Map(controls.map((c) => [c.name, c]));
  const regions = () => editor.result.filter((r) => TYPES[r.type] &&
    r.to_name === object.name && controlOf.has(r.from_name) && r.value);
  // Size of the original image: the loaded image's, else what stored regions say.
  let nat = null;
  for (const b of regions()) {
    if (b.original_width > 0 && b.original_height > 0) { nat = { w: b.original_width, h: b.original_height }; break; }
  }
  const stage = h('div', { class: 'image-stage', dataset: { object: object.name } });
  const inner = h('div', { class: 'image-inner' });
  // Regions are spread over SVG layers of at most LAYER_SIZE each, every layer its own
  // compositing layer, so changing one region repaints a few hundred, not thousands. Above
  // them, the overlay holds what changes while the pointer moves (handles, the box being
  // drawn, the open polygon, the dragged region's stand-in): a drag repaints only that.
  // The bottom SVG takes clicks on the bare image; the others let them through except on
  // what they draw. Pointer events are handled once, on `inner`, for all of them.
  const mkLayer = (cls) => s('svg', { class: cls, viewBox: '0 0 100 100', preserveAspectRatio: 'none' });
  const svg = mkLayer('boxes');
  const layers = [svg];
  function layerFor() {
    let top = layers[layers.length - 1];
    if (top.childElementCount >= LAYER_SIZE) {
      top = mkLayer('boxes layer');
      layers.push(top);
      overlay.before(top);
    }
    return top;
  }
  const overlay = s('svg', { class: 'boxes boxes-overlay', viewBox: '0 0 100 100', preserveAspectRatio: 'none' });
  const labelsLayer = h('div', { class: 'box-labels' });
  const placeholder = (msg) => h('div', { class: 'image-placeholder', text: msg });
  if (src) {
    const img = h('img', { class: 'image', src, alt: object.name, draggable: 'false' });
    img.addEventListener('load', () => {
      nat = { w: img.naturalWidth, h: img.naturalHeight };
      size();
      render();
    });
    img.addEventListener('error', () => {
      img.replaceWith(placeholder(t('image_not_loadable', { path: String(object.value || '') })));
    });
    inner.append(img);
  } else {
    inner.append(placeholder(t('image_not_loadable', { path: String(object.value || '') })));
  }
  inner.append(svg, overlay, labelsLayer);
  stage.append(inner);

  // Zoom and pan: inner is scaled by zoom and shifted by (tx, ty) screen pixels.
  let zoom = 1;
  let tx = 0;
  let ty = 0;
  const zoomLabel = h('span', { class: 'zoom-level', text: '100%' });
  const zoomBy = (f) => {
    const r = stage.getBoundingClientRect();
    zoomAt(zoom * f, r.width / 2, r.height / 2);
  };
  const zoomBar = h('div', { class: 'zoom-bar' },
    h('button', { type: 'button', class: 'zoom-out icon', 'aria-label': t('zoom_out'), title: t('zoom_out'), on: { click: () => zoomBy(1 / 1.5) } }, '−'),
    zoomLabel,
    h('button', { type: 'button', class: 'zoom-in icon', 'aria-label': t('zoom_in'), title: t('zoom_in'), on: { click: () => zoomBy(1.5) } }, '+'),
    h('button', { type: 'button', class: 'zoom-reset', text: t('zoom_reset'), on: { click: () => setView(1, 0, 0) } }),
    h('span', { class: 'hint', text: t('zoom_hint') }));
  const el = h('div', { class: 'object object-image' }, zoomBar, stage);

  function setView(z, x, y) {
    zoom = clamp(z, 1, MAX_ZOOM);
    // Keep the image covering the stage: no empty margins when zoomed in.
    tx = clamp(x, stageW - stageW * zoom, 0);
    ty = clamp(y, stageH - stageH * zoom, 0);
    inner.style.setProperty('--zoom', String(zoom));
    inner.style.setProperty('--tx', String(tx));
    inner.style.setProperty('--ty', String(ty));
    stage.dataset.zoom = String(Math.round(zoom * 1000) / 1000);
    zoomLabel.textContent = `${Math.round(zoom * 100)}%`;
    placeHandles();
  }

  // Zooms to z keeping the stage point (cx, cy) (pixels from its corner) where it is.
  function zoomAt(z, cx, cy) {
    const nz = clamp(z, 1, MAX_ZOOM);
    const px = (cx - tx) / zoom;
    const py = (cy - ty) / zoom;
    setView(nz, cx - px * nz, cy - py * nz);
  }

  stage.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = stage.getBoundingClientRect();
    const f = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
    zoomAt(zoom * f, e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  let stageW = 640; // the stage's size in CSS pixels, kept so handles need no layout read
  let stageH = 480;
  function size() {
    const n = nat || { w: 640, h: 480 };
    stageW = clamp(n.w, 480, 800);
    stageH = (stageW * n.h) / n.w;
    stage.style.setProperty('--stage-w', `${stageW}px`);
    stage.style.setProperty('--stage-h', `${stageH}px`);
  }
  size();

  function point(e) {
    const r = svg.getBoundingClientRect();
    return { x: clamp(((e.clientX - r.left) / r.width) * 100, 0, 100), y: clamp(((e.clientY - r.top) / r.height) * 100, 0, 100) };
  }

  // The tool follows the active label: its control's type. With none picked, the first
  // control's first label.
  function activeLabel() {
    for (const c of controls) {
      const l = editor.active.get(c.name);
      if (l) return { control: c, label: l };
    }
    return controls.length && controls[0].labels.length ? { control: controls[0], label: controls[0].labels[0] } : null;
  }

  let spaceDown = false;
  let hover = false;
  stage.addEventListener('pointerenter', () => { hover = true; });
  stage.addEventListener('pointerleave', () => { hover = false; });
  const typing = (x) => x && (x.tagName === 'TEXTAREA' || x.tagName === 'SELECT' || x.tagName === 'INPUT');
  function onKeyDown(e) {
    if (typing(e.target)) return;
    if (e.key === ' ' && hover) { e.preventDefault(); spaceDown = true; stage.classList.add('panning'); return; }
    if (!poly) return;
    if (e.key === 'Enter') { e.preventDefault(); e.stopImmediatePropagation(); closePolygon(); }
    if (e.key === 'Escape') { e.stopImmediatePropagation(); poly = null; drawOverlay(); }
    if (e.key === 'Backspace') { e.preventDefault(); e.stopImmediatePropagation(); poly.points.pop(); if (!poly.points.length) poly = null; drawOverlay(); }
  }
  function onKeyUp(e) {
    if (e.key === ' ') { spaceDown = false; stage.classList.remove('panning'); }
  }
  // Capture: Enter, Esc and Backspace mean "polygon" while one is open, before the page sees them.
  document.addEventListener('keydown', onKeyDown, true);
  document.addEventListener('keyup', onKeyUp);
  if (cleanup) cleanup(() => {
    document.removeEventListener('keydown', onKeyDown, true);
    document.removeEventListener('keyup', onKeyUp);
  });

  let drag = null; // {mode: 'draw'|'move'|'resize'|'vertex'|'pan', start, id?, orig?}
  let poly = null; // the polygon being drawn: {control, label, points}
  const live = s('rect', { class: 'draft-box', 'vector-effect': 'non-scaling-stroke' });

  function onDown(e) {
    if (e.button === 1 || (e.button === 0 && spaceDown)) {
      e.preventDefault();
      drag = { mode: 'pan', cx: e.clientX, cy: e.clientY, tx, ty };
      inner.setPointerCapture(e.pointerId);
      return;
    }
    if (e.button !== 0) return;
    e.preventDefault();
    const p = point(e);
    const target = e.target;
    const id = target.dataset ? target.dataset.id : undefined;
    if (poly) {
      const first = poly.points[0];
      const r = svg.getBoundingClientRect();
      const near = first && Math.hypot((p.x - first[0]) * r.width / 100, (p.y - first[1]) * r.height / 100) <= CLOSE_PX;
      if (near && poly.points.length >= 3) closePolygon();
      else { poly.points.push([p.x, p.y]); drawOverlay(); }
      return;
    }
    // With a point or polygon label picked, a click inside a region adds to it rather than
    // selecting it (eyes go inside the face's box); keypoints themselves stay grabbable.
    const picked = controls.find((c) => editor.active.get(c.name));
    const placing = picked && picked.type !== 'rectanglelabels' && !target.classList.contains('kp');
    if (id && target.classList.contains('handle')) {
      drag = { mode: 'resize', start: p, id, orig: editor.byId(id).value };
    } else if (id && target.classList.contains('vertex')) {
      drag = { mode: 'vertex', start: p, id, k: Number(target.dataset.k), orig: editor.byId(id).value };
    } else if (id && target.classList.contains('region') && !placing) {
      if (e.shiftKey) { editor.toggleSelected(id, false); return; }
      if (!(editor.selected.length === 1 && editor.selected[0] === id)) editor.toggleSelected(id, true);
      drag = { mode: 'move', start: p, id, orig: editor.byId(id).value };
    } else {
      const a = activeLabel();
      if (editor.selected.length) { editor.selected = []; editor.emit(); }
      if (!a) return;
      const tool = TYPES[a.control.type];
      if (tool === 'polygon') {
        poly = { control: a.control, label: a.label, points: [[p.x, p.y]] };
        drawOverlay();
        return;
      }
      if (tool === 'keypoint') {
        addRegion(a, { x: round(p.x), y: round(p.y), width: KP_WIDTH });
        return;
      }
      drag = { mode: 'draw', start: p, a };
      overlay.append(live);
    }
    if (drag && drag.id) startGhost(drag.id);
    inner.setPointerCapture(e.pointerId);
  }
  inner.addEventListener('pointerdown', onDown);

  // While a region is dragged its element is hidden and a copy moves in the overlay.
  let ghost = null;
  function startGhost(id) {
    const entry = els.get(id);
    if (!entry) return;
    ghost = { id, node: entry.shape.cloneNode(false), orig: entry.shape };
    ghost.node.classList.add('ghost');
    overlay.prepend(ghost.node);
    entry.shape.classList.add('dragging');
  }
  function endGhost() {
    if (!ghost) return;
    ghost.node.remove();
    ghost.orig.classList.remove('dragging');
    ghost = null;
  }

  // The value a drag would give the region, from its value when the drag began.
  function dragged(d, p) {
    const dx = p.x - d.start.x;
    const dy = p.y - d.start.y;
    const o = d.orig;
    if (d.mode === 'draw') {
      return { x: Math.min(p.x, d.start.x), y: Math.min(p.y, d.start.y), width: Math.abs(dx), height: Math.abs(dy) };
    }
    if (d.mode === 'resize') {
      return { ...o, width: clamp(o.width + dx, MIN_SIZE, 100 - o.x), height: clamp(o.height + dy, MIN_SIZE, 100 - o.y) };
    }
    if (d.mode === 'vertex') {
      const points = o.points.map((q, k) => (k === d.k ? [round(p.x), round(p.y)] : q));
      return { ...o, points };
    }
    // move
    if (Array.isArray(o.points)) {
      const xs = o.points.map((q) => q[0]);
      const ys = o.points.map((q) => q[1]);
      const mx = clamp(dx, -Math.min(...xs), 100 - Math.max(...xs));
      const my = clamp(dy, -Math.min(...ys), 100 - Math.max(...ys));
      return { ...o, points: o.points.map((q) => [round(q[0] + mx), round(q[1] + my)]) };
    }
    if (o.height === undefined) return { ...o, x: clamp(o.x + dx, 0, 100), y: clamp(o.y + dy, 0, 100) };
    return { ...o, x: clamp(o.x + dx, 0, 100 - o.width), y: clamp(o.y + dy, 0, 100 - o.height) };
  }

  function placeRect(rect, b) {
    rect.setAttribute('x', b.x);
    rect.setAttribute('y', b.y);
    rect.setAttribute('width', b.width);
    rect.setAttribute('height', b.height);
  }

  // Geometry of one region's element (and its tag) from a value.
  function placeShape(node, type, v) {
    if (type === 'rect') placeRect(node, v);
    else if (type === 'polygon') node.setAttribute('points', pointsAttr(v.points));
    else {
      node.setAttribute('x1', v.x); node.setAttribute('x2', v.x);
      node.setAttribute('y1', v.y); node.setAttribute('y2', v.y);
    }
  }

  function anchor(type, v) {
    if (type === 'polygon') {
      let best = v.points[0];
      for (const q of v.points) if (q[1] < best[1]) best = q;
      return { x: best[0], y: best[1] };
    }
    return { x: v.x, y: v.y };
  }

  function onMove(e) {
    if (!drag) {
      if (poly) { poly.cursor = point(e); drawOverlay(); }
      return;
    }
    if (drag.mode === 'pan') {
      setView(zoom, drag.tx + e.clientX - drag.cx, drag.ty + e.clientY - drag.cy);
      return;
    }
    const b = dragged(drag, point(e));
    drag.moved = true;
    if (drag.mode === 'draw') { placeRect(live, b); return; }
    const entry = els.get(drag.id);
    if (!entry || !ghost) return;
    placeShape(ghost.node, entry.type, b);
    const an = anchor(entry.type, b);
    entry.tag.style.setProperty('--x', an.x);
    entry.tag.style.setProperty('--y', an.y);
    entry.item = null; // its tag moved behind render's back: redraw it next time
    placeHandles(drag.id, b);
  }
  inner.addEventListener('pointermove', onMove);

  function addRegion(a, value) {
    const n = nat || { w: 640, h: 480 };
    const item = {
      id: newId(), from_name: a.control.name, to_name: object.name, type: a.control.type,
      original_width: n.w, original_height: n.h, image_rotation: 0,
      value: { ...value, [a.control.type]: [a.label] },
    };
    editor.update((r) => { r.push(item); });
    editor.toggleSelected(item.id, true);
  }

  function closePolygon() {
    if (!poly) return;
    const p = poly;
    poly = null;
    drawOverlay();
    if (p.points.length < 3) return;
    addRegion({ control: p.control, label: p.label }, { points: p.points.map((q) => [round(q[0]), round(q[1])]) });
  }

  function finish(e) {
    if (!drag) return;
    const d = drag;
    drag = null;
    live.remove();
    if (d.mode === 'pan' || !d.moved) { endGhost(); placeHandles(); return; }
    const b = dragged(d, point(e));
    if (d.mode === 'draw') {
      if (b.width < MIN_SIZE || b.height < MIN_SIZE) return;
      addRegion(d.a, { x: round(b.x), y: round(b.y), width: round(b.width), height: round(b.height), rotation: 0 });
      return;
    }
    if (JSON.stringify(b) === JSON.stringify(d.orig)) { endGhost(); render(); return; }
    editor.patch(d.id, (item) => {
      const v = item.value;
      if (Array.isArray(b.points)) v.points = b.points;
      else for (const k of ['x', 'y', 'width', 'height']) if (b[k] !== undefined) v[k] = round(b[k]);
      if (nat) { item.original_width = nat.w; item.original_height = nat.h; }
    });
    endGhost();
  }
  const cancel = () => { drag = null; live.remove(); endGhost(); render(); };
  inner.addEventListener('pointerup', finish);
  inner.addEventListener('pointercancel', cancel);

  // The open polygon: its points so far and a line to the cursor.
  function drawOverlay() {
    for (const n of [...overlay.querySelectorAll('.poly-draft, .poly-start')]) n.remove();
    if (!poly) return;
    const pts = poly.cursor ? [...poly.points, [poly.cursor.x, poly.cursor.y]] : poly.points;
    overlay.append(s('polyline', { class: 'poly-draft', points: pointsAttr(pts), 'vector-effect': 'non-scaling-stroke' }));
    const f = poly.points[0];
    overlay.append(s('line', { class: 'poly-start', x1: f[0], y1: f[1], x2: f[0], y2: f[1], 'vector-effect': 'non-scaling-stroke' }));
  }

  // Resize handles of selected boxes and vertices of selected polygons; sized in screen
  // pixels, so they depend on the zoom. During a drag, `live` gives the dragged value.
  function placeHandles(liveId, liveValue) {
    for (const n of [...overlay.querySelectorAll('.handle, .vertex')]) n.remove();
    const hw = (10 / (stageW * zoom)) * 100;
    const hh = (10 / (stageH * zoom)) * 100;
    for (const id of editor.selected) {
      const entry = els.get(id);
      const item = editor.byId(id);
      if (!entry || !item) continue;
      const v = id === liveId ? liveValue : item.value;
      if (entry.type === 'rect') {
        const hnd = s('rect', { class: 'handle', dataset: { id }, 'vector-effect': 'non-scaling-stroke' });
        placeRect(hnd, { x: v.x + v.width - hw / 2, y: v.y + v.height - hh / 2, width: hw, height: hh });
        overlay.append(hnd);
      } else if (entry.type === 'polygon') {
        v.points.forEach((q, k) => {
          overlay.append(s('line', { class: 'vertex', dataset: { id, k }, x1: q[0], y1: q[1], x2: q[0], y2: q[1],
            'vector-effect': 'non-scaling-stroke' }));
        });
      }
    }
  }

  // id -> {type, shape, tag, item, sel}: elements are kept between renders and only touched
  // when the item they show changed.
  const els = new Map();
  function render() {
    const seen = new Set();
    const sel = new Set(editor.selected);
    for (const item of regions()) {
      const type = TYPES[item.type];
      const v = item.value;
      if (type === 'polygon' ? !Array.isArray(v.points) || !v.points.length : typeof v.x !== 'number') continue;
      const isSel = sel.has(item.id);
      seen.add(item.id);
      let entry = els.get(item.id);
      if (entry && entry.type !== type) { entry.shape.remove(); entry.tag.remove(); entry = null; }
      if (!entry) {
        const tagName = type === 'rect' ? 'rect' : type === 'polygon' ? 'polygon' : 'line';
        entry = {
          type,
          shape: s(tagName, { 'vector-effect': 'non-scaling-stroke', dataset: { id: item.id } }),
          tag: h('div', {}),
          item: null,
          sel: false,
        };
        els.set(item.id, entry);
        layerFor().append(entry.shape);
        labelsLayer.append(entry.tag);
      }
      // Committed items are never changed in place (editor.patch copies what it edits), so
      // the same object with the same selection state needs no work.
      if (entry.item === item && entry.sel === isSel) continue;
      entry.item = item;
      entry.sel = isSel;
      const label = labelOf(item);
      const cc = colorClass(controlOf.get(item.from_name).labels, label);
      const kind = type === 'rect' ? 'box' : type === 'polygon' ? 'poly' : 'kp';
      entry.shape.setAttribute('class', `region ${kind} ${cc}${isSel ? ' sel' : ''}`);
      entry.shape.dataset.label = label;
      placeShape(entry.shape, type, v);
      entry.tag.className = `box-label ${cc}${isSel ? ' sel' : ''}`;
      entry.tag.textContent = label;
      const an = anchor(type, v);
      entry.tag.style.setProperty('--x', an.x);
      entry.tag.style.setProperty('--y', an.y);
    }
    for (const [id, entry] of els) {
      if (seen.has(id)) continue;
      entry.shape.remove();
      entry.tag.remove();
      els.delete(id);
    }
    // With hundreds of regions their tags would cover the image (and cost every frame):
    // only the selected regions' tags are shown then.
    labelsLayer.classList.toggle('many', els.size > MANY);
    // The selected region is drawn last, so it is on top and can be grabbed.
    for (const id of editor.selected) {
      const entry = els.get(id);
      if (entry && entry.shape !== layers[layers.length - 1].lastChild) layerFor().append(entry.shape);
    }
    placeHandles();
    if (drag && drag.mode === 'draw') overlay.append(live);
  }
  return { el, render };
}
