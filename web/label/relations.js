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
  // id -> {li, pick, item, sel}: rows are kept and only redrawn when their item changed.
  const rows = new Map();
  const empty = h('li', { class: 'muted', text: t('no_regions') });
  const moreEl = h('li', { class: 'muted more-regions' });
  list.addEventListener('click', (e) => {
    const li = e.target.closest('li.region');
    if (!li) return;
    if (e.target.closest('.region-del')) editor.removeRegion(li.dataset.id);
    else if (e.target.closest('.region-pick')) editor.toggleSelected(li.dataset.id, false);
  });
  function render() {
    const regions = editor.result.filter(isRegion);
    if (!regions.length) {
      rows.clear();
      list.replaceChildren(empty);
      return;
    }
    // With thousands of regions only the first `max` (and the selected ones) are listed.
    const selected = new Set(editor.selected);
    const shown = regions.length > max ? regions.filter((r, i) => i < max || selected.has(r.id)) : regions;
    const more = regions.length - shown.length;
    const want = [];
    const seen = new Set();
    for (const r of shown) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const sel = selected.has(r.id);
      let row = rows.get(r.id);
      if (!row) {
        const pick = h('button', { type: 'button', class: 'region-pick' });
        const li = h('li', { class: 'region', dataset: { id: r.id } }, pick,
          h('button', { type: 'button', class: 'region-del icon', 'aria-label': t('delete'), title: t('delete') }, '×'));
        row = { li, pick, item: null, sel: null };
        rows.set(r.id, row);
      }
      if (row.item !== r) { row.item = r; row.pick.textContent = regionText(r); }
      if (row.sel !== sel) {
        row.sel = sel;
        row.li.classList.toggle('sel', sel);
        row.pick.setAttribute('aria-pressed', sel ? 'true' : 'false');
      }
      want.push(row.li);
    }
    for (const id of rows.keys()) if (!seen.has(id)) rows.delete(id);
    if (more > 0) { moreEl.textContent = t('more_regions', { n: more }); want.push(moreEl); }
    // Touch the list's children only when its order or membership changed.
    const cur = list.children;
    let same = cur.length === want.length;
    for (let i = 0; same && i < want.length; i++) same = cur[i] === want[i];
    if (!same) list.replaceChildren(...want);
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
