// Number: one numeric input within the config's min and max.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { block } from './common.js';

export function mount({ editor, control }) {
  const toName = control.to_names[0] || '';
  const input = h('input', { type: 'number', class: 'number', 'aria-label': t('number_label'),
    min: control.min, max: control.max, step: 'any' });
  input.addEventListener('input', () => {
    const v = input.value === '' ? null : Number(input.value);
    editor.setValue(control, toName, v === null || Number.isNaN(v) ? null : { number: v },
      { coalesce: `number:${control.name}` });
  });
  const b = block(control, input);
  function render() {
    const item = editor.itemFor(control.name);
    const v = item && item.value && typeof item.value.number === 'number' ? String(item.value.number) : '';
    if (input.value !== v && document.activeElement !== input) input.value = v;
    b.renderError(editor);
  }
  return { el: b.el, render };
}
