// The region list (every span and box, selectable) and, when the config has a Relations
// tag, the relations between two selected regions: from the first picked to the second.
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { isRegion } from './editor.js';
import { block } from './common.js';

export function regionText(item) {
  const v = item.value || {};
  const labels = (v.labels || v.rectanglelabels || v.polygonlabels || v.keypointlabels || []).join(', ');
  if (typeof v.text === 'string') return `${labels}: ${v.text}`;
  if (Array.isArray(v.points)) return `${labels}: ${t('polygon_n', { n: v.points.length })}`;
  if (typeof v.x === 'number' && v.height === undefined) return `${labels}: ${[v.x, v.y].map((n) => Math.round(n * 10) / 10).join(', ')}`;
  if (typeof v.start === 'number') return `${labels}: ${v.start}–${v.end} s`;
  if (typeof v.x === 'number') return `${labels}: ${[v.x, v.y, v.width, v.height].map((n) => Math.round(n * 10) / 10).join(', ')}`;
  return labels || item.type;
}

export function mountRegions({ editor, max = Infinity }) {
  const list = h('ul', { class: 'region-list' });
  const el = h('section', { class: 'control regions' }, h('h3', { class: 'control-name', text: t('regions') }), list);
  function render() {
    const regions = editor.result.filter(isRegion);
    if (!regions.length) {
      list.replaceChildren(h('li', { class: 'muted', text: t('no_regions') }));
      return;
    }
    // With thousands of regions only the first `max` (and the selected ones) are listed.
    const shown = regions.length > max
      ? regions.filter((r, i) => i < max || editor.selected.includes(r.id)) : regions;
    const more = regions.length - shown.length;
    list.replaceChildren(...shown.map((r) => {
      const sel = editor.selected.includes(r.id);
      return h('li', { class: ['region', sel && 'sel'], dataset: { id: r.id } },
        h('button', { type: 'button', class: 'region-pick', 'aria-pressed': sel ? 'true' : 'false',
          on: { click: () => editor.toggleSelected(r.id, false) } }, regionText(r)),
        h('button', { type: 'button', class: 'region-del icon', 'aria-label': t('delete'), title: t('delete'),
          on: { click: () => editor.removeRegion(r.id) } }, '×'));
    }), more > 0 ? h('li', { class: 'muted more-regions', text: t('more_regions', { n: more }) }) : '');
  }
  return { el, render };
}

// Errors about relation items (which have no from_name) are kept under this key.
export const RELATIONS_KEY = '#relations';

export function mount({ editor, control }) {
  const addBtn = h('button', { type: 'button', class: 'add-relation', text: t('add_relation'),
    on: { click: () => {
      const [from, to] = editor.selected;
      if (!from || !to) return;
      editor.update((r) => {
        r.push({ from_id: from, to_id: to, type: 'relation', direction: 'right',
          labels: control.labels.length ? [control.labels[0]] : [] });
      });
      editor.selected = [];
      editor.emit();
    } } });
  const hint = h('p', { class: 'hint', text: t('relation_hint') });
  const list = h('ul', { class: 'relation-list' });
  const b = block({ ...control, name: RELATIONS_KEY }, hint, addBtn, list);
  b.el.querySelector('.control-name').textContent = t('relations');

  function render() {
    addBtn.disabled = editor.selected.length !== 2;
    const rels = editor.result.map((r, i) => [r, i]).filter(([r]) => r.type === 'relation');
    list.replaceChildren(...rels.map(([r, i]) => {
      const from = editor.byId(r.from_id);
      const to = editor.byId(r.to_id);
      const select = h('select', { class: 'relation-label', on: { change: () => {
        editor.update((res) => { res[i].labels = select.value ? [select.value] : []; });
      } } }, h('option', { value: '', text: '—' }), control.labels.map((l) => h('option', { value: l, text: l })));
      select.value = (r.labels || [])[0] || '';
      return h('li', { class: 'relation' },
        h('span', { class: 'rel-end', text: from ? regionText(from) : r.from_id }), ' → ',
        h('span', { class: 'rel-end', text: to ? regionText(to) : r.to_id }), ' ', select,
        h('button', { type: 'button', class: 'icon', 'aria-label': t('delete'), title: t('delete'),
          on: { click: () => editor.update((res) => { res.splice(i, 1); }) } }, '×'));
    }));
    b.renderError(editor);
  }
  return { el: b.el, render };
}
