// The labeling screen: loads a task (the next one for me, or a given one), builds the
// editor from the project's parsed config (GET /api/projects/ID/config), and submits.
import { api, ApiError } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { Editor, isRegion } from './editor.js';
import { mountText } from './spans.js';
import { mountHyperText } from './hypertext.js';
import { mountImage } from './image.js';
import { mountAudio } from './audio.js';
import { mountParagraphs } from './paragraphs.js';
import { mediaSrc } from './media.js';
import * as pairwise from './pairwise.js';
import * as ranker from './ranker.js';
import * as choices from './choices.js';
import * as labels from './labels.js';
import * as textarea from './textarea.js';
import * as rating from './rating.js';
import * as number from './number.js';
import * as relations from './relations.js';

const CONTROL_MODULES = { choices, textarea, rating, number, relation: relations };
const LABEL_TYPES = new Set(['labels', 'rectanglelabels', 'polygonlabels', 'keypointlabels']);
const IMAGE_TYPES = new Set(['rectanglelabels', 'polygonlabels', 'keypointlabels']);
const REGION_LIST_MAX = 200; // the region list shows this many; thousands would stall every render

// Builds the views of one task from the parsed config: objects (left) and controls (right).
// Shared by the labeling and the review screens.
export function buildViews({ editor, config, task, cleanup }) {
  const views = [];
  const objectsEl = h('div', { class: 'objects' });
  const controlsEl = h('div', { class: 'controls' });
  const labelBars = [];
  const pairs = [];
  let shortcutBase = 0;
  editor.pairNew = config.controls.some((c) => c.type === 'relation');
  for (const c of config.controls) {
    if (LABEL_TYPES.has(c.type)) {
      const onAudio = c.to_names.every((n) => (config.objects.find((o) => o.name === n) || {}).tag === 'Audio');
      const bar = labels.mount({ editor, control: c, shortcutBase, hintKey: onAudio ? 'audio_hint' : null });
      shortcutBase += bar.count;
      labelBars.push(bar);
      views.push(bar);
      controlsEl.append(bar.el);
    } else if (c.type === 'pairwise') {
      const v = pairwise.mount({ editor, control: c, objectsEl });
      pairs.push(v);
      views.push(v);
      controlsEl.append(v.el);
    } else if (c.type === 'ranker') {
      const v = ranker.mount({ editor, control: c, task, objects: config.objects });
      views.push(v);
      controlsEl.append(v.el);
    } else if (CONTROL_MODULES[c.type]) {
      const v = CONTROL_MODULES[c.type].mount({ editor, control: c });
      views.push(v);
      controlsEl.append(v.el);
    } else {
      controlsEl.append(h('p', { class: 'notice unsupported', text: t('unsupported', { tag: c.tag, name: c.name }) }));
    }
  }
  const textViews = [];
  for (const o of config.objects) {
    const value = task.data ? task.data[o.data_key] : undefined;
    const targeting = (types) => config.controls.filter((c) => types.has(c.type) && c.to_names.includes(o.name));
    const labelsOn = targeting(new Set(['labels']));
    let v;
    if (o.tag === 'Text') {
      v = mountText({ editor, object: o, text: fieldText(value), labelControls: labelsOn });
      textViews.push(v);
    } else if (o.tag === 'HyperText') {
      // Rendered only in a sandboxed frame (hypertext.js); spans on it are not editable yet.
      v = mountHyperText({ object: o, html: fieldText(value) });
      for (const c of labelsOn) {
        controlsEl.append(h('p', { class: 'notice unsupported', text: t('unsupported', { tag: c.tag, name: `${c.name} → ${o.name}` }) }));
      }
    } else if (o.tag === 'Paragraphs' && Array.isArray(value)) {
      v = mountParagraphs({ editor, object: o, value, labelControls: labelsOn });
      textViews.push(v);
    } else if (o.tag === 'Image') {
      v = mountImage({ editor, object: o, src: mediaSrc(task.id, o.data_key, value), controls: targeting(IMAGE_TYPES), cleanup });
    } else if (o.tag === 'Audio') {
      v = mountAudio({ editor, object: o, src: mediaSrc(task.id, o.data_key, value), labelControls: labelsOn });
    } else {
      objectsEl.append(h('p', { class: 'notice unsupported', text: t('unsupported', { tag: o.tag, name: o.name }) }),
        h('pre', { class: 'raw-data', text: fieldText(value) }));
      continue;
    }
    views.push(v);
    objectsEl.append(h('div', { class: 'object-wrap', dataset: { object: o.name } }, h('div', { class: 'object-name', text: o.name }), v.el));
  }
  const regions = relations.mountRegions({ editor, max: REGION_LIST_MAX });
  views.push(regions);
  controlsEl.append(regions.el);

  // A label picked while text is selected labels that text at once.
  for (const bar of labelBars) {
    bar.setOnPick((control, label) => textViews.some((tv) => tv.addFromSelection({ control, label })));
  }
  return { objectsEl, controlsEl, views, labelBars, pairs };
}

// "result[3].value.end" -> 3
function resultIndex(field) {
  const m = /^result\[(\d+)\]/.exec(field || '');
  return m ? Number(m[1]) : -1;
}

function fieldText(v) {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return JSON.stringify(v, null, 2);
}

// Picks what the editor starts from: my own annotation, else the best-scored prediction.
function startingPoint(task, me) {
  const mine = (task.annotations || []).filter((a) => a.completed_by === me.id && !a.was_cancelled);
  if (mine.length) return { annotation: mine[mine.length - 1], result: mine[mine.length - 1].result || [] };
  const preds = (task.predictions || []).slice().sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity));
  if (preds.length) return { prediction: preds[0], result: preds[0].result || [] };
  return { result: [] };
}

export async function renderLabel(root, { projectId, taskId, me, go, cleanup }) {
  root.replaceChildren(h('p', { class: 'muted', text: t('loading') }));
  const [project, config] = await Promise.all([
    api('GET', `/api/projects/${projectId}`),
    api('GET', `/api/projects/${projectId}/config`),
  ]);
  let task;
  try {
    task = taskId ? await api('GET', `/api/tasks/${taskId}`) : await api('GET', `/api/projects/${projectId}/next`);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'no_more_tasks') {
      root.replaceChildren(
        h('div', { class: 'page-head' }, h('h2', { text: project.title }),
          h('a', { href: `#/projects/${projectId}`, class: 'button', text: t('back_to_project') })),
        h('p', { class: 'notice done', id: 'no-more-tasks', text: t('no_more_tasks') }));
      return;
    }
    throw e;
  }

  const editor = new Editor(task.id);
  const start = startingPoint(task, me);
  const notes = h('div', { class: 'notes' });
  const draft = editor.readDraft();
  editor.load(draft ? draft.result : start.result);
  if (draft) editor.dirty = true;
  if (draft) notes.append(h('p', { class: 'notice draft', text: t('draft_restored') }));
  else if (start.prediction) {
    const score = typeof start.prediction.score === 'number' ? start.prediction.score.toFixed(2) : '—';
    notes.append(h('p', { class: 'notice prediction', dataset: { score },
      text: t('prediction_loaded', { model: start.prediction.model_version || '?', score }) }));
  }
  const startedAt = Date.now();

  const { objectsEl, controlsEl, views, labelBars, pairs } = buildViews({ editor, config, task, cleanup });
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const undoBtn = h('button', { type: 'button', class: 'undo', text: t('undo'), on: { click: () => editor.undo() } });
  const redoBtn = h('button', { type: 'button', class: 'redo', text: t('redo'), on: { click: () => editor.redo() } });
  // Skipping is for a task not yet done; an annotation being edited is updated, not skipped.
  const skipBtn = h('button', { type: 'button', class: 'skip', text: t('skip'), hidden: !!start.annotation,
    on: { click: () => send(true) } });
  const submitBtn = h('button', { type: 'button', class: 'primary submit',
    text: start.annotation ? t('update') : t('submit'), on: { click: () => send(false) } });

  root.replaceChildren(
    h('div', { class: 'page-head' },
      h('h2', {}, project.title, ' · ', h('span', { class: 'task-id', text: t('task_n', { id: task.id }) })),
      h('a', { href: `#/projects/${projectId}`, class: 'button', text: t('back_to_project') })),
    notes,
    h('div', { class: 'label-screen' }, objectsEl, controlsEl),
    formError,
    h('div', { class: 'actions' }, undoBtn, redoBtn, h('span', { class: 'spacer' }),
      h('span', { class: 'muted shortcuts', text: t('shortcuts') }), skipBtn, submitBtn));

  const flush = () => editor.flushDraft();
  window.addEventListener('pagehide', flush);
  cleanup(() => { window.removeEventListener('pagehide', flush); flush(); });

  editor.subscribe(() => {
    for (const v of views) v.render();
    undoBtn.disabled = !editor.undoStack.length;
    redoBtn.disabled = !editor.redoStack.length;
    formError.textContent = editor.errors.get('') || '';
  });
  editor.emit();

  let busy = false;
  async function send(cancel) {
    if (busy) return;
    busy = true;
    submitBtn.disabled = skipBtn.disabled = true;
    const result = cancel ? [] : editor.result;
    const body = { result, lead_time: (Date.now() - startedAt) / 1000, was_cancelled: cancel };
    try {
      if (start.annotation && !cancel) await api('PATCH', `/api/annotations/${start.annotation.id}`, body);
      else await api('POST', `/api/tasks/${task.id}/annotations`, body);
      editor.clearDraft();
      notes.replaceChildren(h('p', { class: 'notice ok', text: cancel ? t('skipped') : t('submitted') }));
      go(`#/projects/${projectId}/label`, true);
    } catch (e) {
      const errors = new Map();
      const item = e instanceof ApiError ? result[resultIndex(e.field)] : undefined;
      const msg = e.message || String(e);
      if (item && item.type === 'relation') errors.set(relations.RELATIONS_KEY, msg);
      else if (item && item.from_name && config.controls.some((c) => c.name === item.from_name)) errors.set(item.from_name, msg);
      else errors.set('', t('error_general', { msg }));
      if (item && isRegion(item)) editor.selected = [item.id];
      editor.setErrors(errors);
    } finally {
      busy = false;
      submitBtn.disabled = skipBtn.disabled = false;
    }
  }

  function typing(target) {
    return target && (target.tagName === 'TEXTAREA' || target.tagName === 'SELECT' ||
      (target.tagName === 'INPUT' && target.type !== 'button'));
  }

  function onKey(e) {
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key === 'Enter') { e.preventDefault(); send(false); return; }
    if (typing(e.target)) return;
    if (mod && (e.key === 'z' || e.key === 'Z')) {
      e.preventDefault();
      if (e.shiftKey) editor.redo(); else editor.undo();
      return;
    }
    if (mod && (e.key === 'y' || e.key === 'Y')) { e.preventDefault(); editor.redo(); return; }
    if (mod || e.altKey) return;
    if ((e.key === 'Delete' || e.key === 'Backspace') && editor.selected.length) {
      e.preventDefault();
      const ids = editor.selected.slice();
      editor.update((r) => {
        for (let i = r.length - 1; i >= 0; i--) {
          const x = r[i];
          if (ids.includes(x.id) || (x.type === 'relation' && (ids.includes(x.from_id) || ids.includes(x.to_id)))) r.splice(i, 1);
        }
      });
      return;
    }
    if (e.key === 'Escape') { editor.selected = []; editor.emit(); return; }
    if ((e.key === 'ArrowLeft' || e.key === 'ArrowRight') && pairs.length) {
      e.preventDefault();
      pairs[0].key(e.key);
      return;
    }
    if (/^[1-9]$/.test(e.key)) {
      const n = Number(e.key);
      let base = 0;
      for (const bar of labelBars) {
        if (n <= base + bar.count) {
          e.preventDefault();
          const btn = bar.el.querySelectorAll('.label-btn')[n - base - 1];
          if (btn) bar.pick(btn.dataset.label, false);
          return;
        }
        base += bar.count;
      }
    }
  }
  document.addEventListener('keydown', onKey);
  cleanup(() => document.removeEventListener('keydown', onKey));
}
