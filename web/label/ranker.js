// Ranker: put the items of a list object in order. The items are the entries of the task's
// list (an id field is kept; otherwise the index is the id). value.ranker maps the object's
// name to the ids in rank order, Label Studio's shape without buckets:
//   {"ranker": {"results": ["b", "a", "c"]}}
// Reorder by dragging an item, or focus one and move it with Alt+↑ / Alt+↓ (↑ ↓ move the focus).
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { block } from './common.js';

function items(value) {
  if (!Array.isArray(value)) return null;
  return value.map((v, i) => {
    if (v && typeof v === 'object') {
      return { id: String(v.id ?? i), title: String(v.title ?? v.author ?? ''), body: String(v.body ?? v.text ?? '') };
    }
    return { id: String(i), title: '', body: String(v) };
  });
}

export function mount({ editor, control, task, objects }) {
  const toName = control.to_names[0] || '';
  const obj = objects.find((o) => o.name === toName);
  const list = items(obj && task.data ? task.data[obj.data_key] : undefined);
  const ol = h('ol', { class: 'rank-list', role: 'listbox', 'aria-label': control.name });
  const b = block(control, list ? ol : h('p', { class: 'notice unsupported', text: t('ranker_no_list') }),
    h('p', { class: 'hint', text: t('ranker_hint') }));
  if (!list) return { el: b.el, render: () => b.renderError(editor) };
  const byId = new Map(list.map((it) => [it.id, it]));

  function order() {
    const item = editor.itemFor(control.name);
    const r = item && item.value ? item.value.ranker : null;
    let ids = Array.isArray(r) ? r : r && typeof r === 'object' ? r[toName] || Object.values(r)[0] : null;
    ids = Array.isArray(ids) ? ids.map(String).filter((id) => byId.has(id)) : [];
    for (const it of list) if (!ids.includes(it.id)) ids.push(it.id);
    return ids;
  }
  function set(ids, focusId) {
    editor.setValue(control, toName, { ranker: { [toName]: ids } });
    if (focusId) {
      const li = ol.querySelector(`li[data-id="${CSS.escape(focusId)}"]`);
      if (li) li.focus();
    }
  }
  function move(id, delta) {
    const ids = order();
    const i = ids.indexOf(id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    set(ids, id);
  }

  let dragId = null;
  ol.addEventListener('dragstart', (e) => {
    const li = e.target.closest('li');
    if (!li) return;
    dragId = li.dataset.id;
    e.dataTransfer.effectAllowed = 'move';
    e.dataTransfer.setData('text/plain', dragId);
  });
  ol.addEventListener('dragover', (e) => { if (dragId) e.preventDefault(); });
  ol.addEventListener('drop', (e) => {
    e.preventDefault();
    const li = e.target.closest('li');
    if (!dragId || !li || li.dataset.id === dragId) { dragId = null; return; }
    const ids = order().filter((x) => x !== dragId);
    const r = li.getBoundingClientRect();
    let at = ids.indexOf(li.dataset.id);
    if (e.clientY > r.top + r.height / 2) at++;
    ids.splice(at, 0, dragId);
    const moved = dragId;
    dragId = null;
    set(ids, moved);
  });
  ol.addEventListener('keydown', (e) => {
    const li = e.target.closest('li');
    if (!li || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
    e.preventDefault();
    e.stopPropagation();
    const delta = e.key === 'ArrowUp' ? -1 : 1;
    if (e.altKey) { move(li.dataset.id, delta); return; }
    const next = delta < 0 ? li.previousElementSibling : li.nextElementSibling;
    if (next) next.focus();
  });

  function render() {
    const focused = document.activeElement && ol.contains(document.activeElement) ? document.activeElement.dataset.id : null;
    const ranked = !!editor.itemFor(control.name);
    ol.classList.toggle('unranked', !ranked);
    ol.replaceChildren(...order().map((id, i) => {
      const it = byId.get(id);
      return h('li', { class: 'rank-item', draggable: 'true', tabindex: 0, role: 'option', dataset: { id } },
        h('span', { class: 'rank-n', text: i + 1 }),
        h('span', { class: 'rank-body' }, it.title ? h('strong', { text: it.title }) : null, it.title ? ' ' : null, it.body),
        h('span', { class: 'rank-move' },
          h('button', { type: 'button', class: 'icon up', tabindex: -1, 'aria-label': t('move_up'), on: { click: () => move(id, -1) } }, '↑'),
          h('button', { type: 'button', class: 'icon down', tabindex: -1, 'aria-label': t('move_down'), on: { click: () => move(id, 1) } }, '↓')));
    }));
    if (focused) {
      const li = ol.querySelector(`li[data-id="${CSS.escape(focused)}"]`);
      if (li) li.focus();
    }
    b.renderError(editor);
  }
  return { el: b.el, render };
}
