// An Audio object with the segments of its Labels controls. The file is fetched from its
// media URL and decoded with WebAudio; the waveform (min and max per pixel column) is drawn
// on a canvas, segments lie over it. Drag across the waveform to add a segment with the
// active label (value.start and value.end in seconds); click a segment to select it (Shift
// adds it to the selection), Delete removes it; Play plays the selected segment, or all.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { newId } from './editor.js';
import { colorClass } from './common.js';

const WIDTH = 800;
const HEIGHT = 120;
const MIN_SECONDS = 0.02;
const r3 = (v) => Math.round(v * 1000) / 1000;

let sharedCtx = null;
function audioContext() {
  if (!sharedCtx) sharedCtx = new (window.AudioContext || window.webkitAudioContext)();
  return sharedCtx;
}

function drawWave(canvas, buffer) {
  const g = canvas.getContext('2d');
  const w = canvas.width;
  const hh = canvas.height;
  g.clearRect(0, 0, w, hh);
  const ch = buffer.getChannelData(0);
  const per = Math.max(1, Math.floor(ch.length / w));
  g.fillStyle = getComputedStyle(canvas).color || '#2f6fde';
  for (let x = 0; x < w; x++) {
    let lo = 1;
    let hi = -1;
    const from = Math.floor((x * ch.length) / w);
    for (let i = from; i < from + per && i < ch.length; i++) {
      const v = ch[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi < lo) continue;
    const y1 = ((1 - hi) / 2) * hh;
    const y2 = ((1 - lo) / 2) * hh;
    g.fillRect(x, y1, 1, Math.max(1, y2 - y1));
  }
}

export function mountAudio({ editor, object, src, labelControls }) {
  const controlOf = new Map(labelControls.map((c) => [c.name, c]));
  const canvas = h('canvas', { class: 'wave', width: WIDTH, height: HEIGHT });
  const segLayer = h('div', { class: 'segments' });
  const live = h('div', { class: 'segment draft' });
  const cursor = h('div', { class: 'play-cursor', hidden: true });
  const track = h('div', { class: 'wave-track' }, canvas, segLayer, cursor);
  const status = h('p', { class: 'hint audio-status', text: t('loading') });
  const playBtn = h('button', { type: 'button', class: 'play', text: t('play'), disabled: true, on: { click: () => play() } });
  const stopBtn = h('button', { type: 'button', class: 'stop', text: t('stop'), disabled: true, on: { click: () => stop() } });
  const el = h('div', { class: 'object object-audio', dataset: { object: object.name } },
    track, h('div', { class: 'audio-bar' }, playBtn, stopBtn, status));

  let buffer = null;
  let duration = 0;
  let source = null;
  let raf = 0;

  async function load() {
    if (!src) { status.textContent = t('media_missing', { path: String(object.value || '') }); return; }
    try {
      const resp = await fetch(src, { credentials: 'same-origin' });
      if (!resp.ok) throw new Error(`${resp.status} ${resp.statusText}`);
      const bytes = await resp.arrayBuffer();
      buffer = await audioContext().decodeAudioData(bytes);
      duration = buffer.duration;
      drawWave(canvas, buffer);
      el.dataset.duration = String(duration);
      status.textContent = t('audio_info', { s: duration.toFixed(2), rate: buffer.sampleRate });
      playBtn.disabled = false;
      render();
    } catch (e) {
      status.textContent = t('audio_failed', { msg: e.message || String(e) });
      el.dataset.error = '1';
    }
  }
  load();

  function segments() {
    return editor.result.filter((r) => r.type === 'labels' && r.to_name === object.name &&
      controlOf.has(r.from_name) && r.value && typeof r.value.start === 'number' && typeof r.value.end === 'number');
  }

  function activeLabel() {
    for (const c of labelControls) {
      const l = editor.active.get(c.name);
      if (l) return { control: c, label: l };
    }
    return labelControls.length ? { control: labelControls[0], label: labelControls[0].labels[0] } : null;
  }

  const seconds = (e) => {
    const r = track.getBoundingClientRect();
    return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)) * duration;
  };

  let drag = null;
  track.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !duration) return;
    e.preventDefault();
    const seg = e.target.closest('.segment');
    if (seg && seg.dataset.id) {
      editor.toggleSelected(seg.dataset.id, !e.shiftKey);
      return;
    }
    drag = { start: seconds(e) };
    track.setPointerCapture(e.pointerId);
  });
  track.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const a = Math.min(drag.start, seconds(e));
    const b = Math.max(drag.start, seconds(e));
    place(live, a, b);
    if (!live.isConnected) segLayer.append(live);
  });
  track.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const a = Math.min(drag.start, seconds(e));
    const b = Math.max(drag.start, seconds(e));
    drag = null;
    live.remove();
    if (b - a < MIN_SECONDS) {
      if (editor.selected.length) { editor.selected = []; editor.emit(); }
      return;
    }
    const al = activeLabel();
    if (!al) return;
    const item = { id: newId(), from_name: al.control.name, to_name: object.name, type: 'labels',
      value: { start: r3(a), end: r3(b), channel: 0, labels: [al.label] } };
    editor.update((r) => { r.push(item); });
    editor.toggleSelected(item.id, true);
  });

  function place(node, a, b) {
    node.style.setProperty('--l', String((a / duration) * 100));
    node.style.setProperty('--w', String(((b - a) / duration) * 100));
  }

  function stop() {
    if (source) { try { source.stop(); } catch (_) { /* already ended */ } }
    source = null;
    cancelAnimationFrame(raf);
    cursor.hidden = true;
    stopBtn.disabled = true;
    el.dataset.playing = '';
  }

  // Plays the selected segment of this object, or the whole file.
  function play() {
    if (!buffer) return;
    stop();
    const seg = segments().find((r) => editor.selected.includes(r.id));
    const from = seg ? seg.value.start : 0;
    const to = seg ? Math.min(seg.value.end, duration) : duration;
    const ctx = audioContext();
    if (ctx.state === 'suspended') ctx.resume();
    source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    const began = ctx.currentTime;
    source.start(0, from, Math.max(0, to - from));
    el.dataset.playing = `${r3(from)}-${r3(to)}`;
    stopBtn.disabled = false;
    cursor.hidden = false;
    const tick = () => {
      const now = from + (ctx.currentTime - began);
      cursor.style.setProperty('--l', String((Math.min(now, to) / duration) * 100));
      if (now < to && source) raf = requestAnimationFrame(tick);
    };
    tick();
    source.onended = () => { if (source) stop(); };
  }

  function render() {
    if (!duration) return;
    const nodes = segments().map((r) => {
      const label = (r.value.labels || [])[0] || '';
      const c = controlOf.get(r.from_name);
      const n = h('div', { class: ['segment', colorClass(c.labels, label), editor.selected.includes(r.id) && 'sel'],
        dataset: { id: r.id, label }, title: `${label} ${r.value.start}–${r.value.end} s` },
      h('span', { class: 'segment-label', text: label }));
      place(n, r.value.start, Math.min(r.value.end, duration));
      return n;
    });
    segLayer.replaceChildren(...nodes);
    if (drag) segLayer.append(live);
  }
  return { el, render };
}
