// TextArea: free text, stored as value.text = [the text]; typing in a row is one undo step.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { block } from './common.js';

export function mount({ editor, control }) {
  const toName = control.to_names[0] || '';
  const area = h('textarea', { class: 'textarea', rows: 3, placeholder: t('textarea_placeholder'), dataset: { name: control.name } });
  area.addEventListener('input', () => {
    const v = area.value;
    editor.setValue(control, toName, v ? { text: [v] } : null, { coalesce: `textarea:${control.name}` });
  });
  const b = block(control, area);
  function render() {
    const item = editor.itemFor(control.name);
    const v = item && item.value && Array.isArray(item.value.text) ? item.value.text.join('\n') : '';
    if (area.value !== v) area.value = v;
    b.renderError(editor);
  }
  return { el: b.el, render };
}
