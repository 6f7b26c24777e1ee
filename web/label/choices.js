// Choices: one button per choice; single choice (radio-like) or several (multiple).
import { h } from '../dom.js';
import { block } from './common.js';

export function mount({ editor, control }) {
  const toName = control.to_names[0] || '';
  const buttons = control.labels.map((label) => h('button', {
    type: 'button',
    class: 'choice',
    role: control.multiple ? 'checkbox' : 'radio',
    dataset: { choice: label },
    on: { click: () => toggle(label) },
  }, label));
  const b = block(control, h('div', { class: 'choice-list', role: control.multiple ? 'group' : 'radiogroup' }, buttons));

  function current() {
    const item = editor.itemFor(control.name);
    return item && item.value && Array.isArray(item.value.choices) ? item.value.choices : [];
  }

  function toggle(label) {
    let next = current().slice();
    if (next.includes(label)) next = next.filter((c) => c !== label);
    else next = control.multiple ? [...next, label] : [label];
    editor.setValue(control, toName, next.length ? { choices: next } : null);
  }

  function render() {
    const cur = current();
    for (const btn of buttons) {
      const on = cur.includes(btn.dataset.choice);
      btn.classList.toggle('on', on);
      btn.setAttribute('aria-checked', on ? 'true' : 'false');
    }
    b.renderError(editor);
  }
  return { el: b.el, render };
}
