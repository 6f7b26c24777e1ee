// The label bar of a Labels or RectangleLabels control: pick the label the next region gets
// (keys 1-9 are given out over all label bars in order). With a region of this control
// selected, a click changes that region's label instead.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { block, colorClass } from './common.js';

export function mount({ editor, control, shortcutBase, hintKey }) {
  const buttons = control.labels.map((label, i) => {
    const key = shortcutBase + i + 1;
    return h('button', {
      type: 'button',
      class: ['label-btn', colorClass(control.labels, label)],
      dataset: { label, key: key <= 9 ? key : '' },
      'aria-keyshortcuts': key <= 9 ? String(key) : null,
      on: { click: () => pick(label, true) },
    }, key <= 9 ? h('kbd', {}, String(key)) : null, label);
  });
  const hint = t(hintKey || { rectanglelabels: 'rect_hint', polygonlabels: 'poly_hint', keypointlabels: 'kp_hint' }[control.type] || 'labels_hint');
  const b = block(control, h('div', { class: 'label-bar' }, buttons), h('p', { class: 'hint', text: hint }));

  function selectedOwn() {
    return editor.selected.map((id) => editor.byId(id)).filter((r) => r && r.from_name === control.name);
  }

  // A click toggles the label off again; a shortcut key only ever picks it.
  function pick(label, toggle = true) {
    const own = selectedOwn();
    if (own.length) {
      const key = control.type;
      editor.patch(own.map((o) => o.id), (item) => { item.value[key] = [label]; });
      return;
    }
    // With text selected, the label applies to it at once (and stays the active one).
    if (onPick && onPick(control, label)) {
      editor.setActive(control.name, label);
      return;
    }
    editor.setActive(control.name, toggle && editor.active.get(control.name) === label ? null : label);
  }

  let onPick = null;
  function render() {
    const active = editor.active.get(control.name);
    for (const btn of buttons) {
      const on = btn.dataset.label === active;
      btn.classList.toggle('on', on);
      btn.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    b.renderError(editor);
  }
  return {
    el: b.el,
    render,
    pick,
    count: control.labels.length,
    setOnPick(fn) { onPick = fn; },
  };
}
