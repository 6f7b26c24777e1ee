// Rating: stars 1..max_rating; clicking the current rating clears it.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { block } from './common.js';

export function mount({ editor, control }) {
  const toName = control.to_names[0] || '';
  const max = control.max_rating || 5;
  const stars = [];
  for (let n = 1; n <= max; n++) {
    stars.push(h('button', {
      type: 'button', class: 'star', dataset: { rating: n }, 'aria-label': t('rating_label', { n, max }),
      on: { click: () => {
        const cur = value();
        editor.setValue(control, toName, cur === n ? null : { rating: n });
      } },
    }, '★'));
  }
  const b = block(control, h('div', { class: 'rating' }, stars));
  function value() {
    const item = editor.itemFor(control.name);
    return item && item.value ? item.value.rating || 0 : 0;
  }
  function render() {
    const v = value();
    stars.forEach((s, i) => s.classList.toggle('on', i < v));
    b.renderError(editor);
  }
  return { el: b.el, render };
}
