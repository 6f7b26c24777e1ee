// Pairwise: which of two objects is better. value.selected is "left" (the first object of
// toName=) or "right"; to_name names both objects ("a,b"), as Label Studio writes it.
// Keys ← and → pick; picking the current side again clears the answer.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { block } from './common.js';

export function mount({ editor, control, objectsEl }) {
  const toName = control.to_names.join(',');
  const sides = ['left', 'right'];
  const buttons = sides.map((side, i) => h('button', {
    type: 'button', class: ['pair-pick', side], dataset: { side }, 'aria-keyshortcuts': i ? 'ArrowRight' : 'ArrowLeft',
    on: { click: () => pick(side) },
  }, i ? `${control.to_names[1]} →` : `← ${control.to_names[0]}`));
  const b = block(control, h('div', { class: 'pair-bar' }, buttons), h('p', { class: 'hint', text: t('pairwise_hint') }));

  function current() {
    const item = editor.itemFor(control.name);
    return item && item.value ? item.value.selected : undefined;
  }
  function pick(side) {
    editor.setValue(control, toName, current() === side ? null : { selected: side });
  }
  function render() {
    const cur = current();
    for (const btn of buttons) {
      const on = btn.dataset.side === cur;
      btn.classList.toggle('on', on);
      btn.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    // Outline the chosen object.
    control.to_names.forEach((name, i) => {
      const wrap = objectsEl && objectsEl.querySelector(`.object-wrap[data-object="${CSS.escape(name)}"]`);
      if (wrap) wrap.classList.toggle('picked', cur === sides[i]);
    });
    b.renderError(editor);
  }
  return { el: b.el, render, key: (k) => (k === 'ArrowLeft' ? pick('left') : k === 'ArrowRight' ? pick('right') : null) };
}
