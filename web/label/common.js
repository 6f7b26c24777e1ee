// Pieces shared by the control modules: a titled block with a slot for the server's error
// about that control, and label colours (CSS classes c0..c9).
import { h } from '../dom.js';

export function block(control, ...body) {
  const err = h('div', { class: 'field-error', role: 'alert', dataset: { for: control.name } });
  const el = h('section', { class: ['control', `control-${control.type}`], dataset: { name: control.name } },
    h('h3', { class: 'control-name', text: control.name || control.tag }),
    ...body, err);
  return {
    el,
    renderError(editor) {
      const msg = editor.errors.get(control.name) || '';
      err.textContent = msg;
      el.classList.toggle('has-error', !!msg);
    },
  };
}

export function colorClass(labels, label) {
  const i = Math.max(0, labels.indexOf(label));
  return `c${i % 10}`;
}
